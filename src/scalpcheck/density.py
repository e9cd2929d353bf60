"""Hair density: the share of a full head's hair that a photo shows (0..1), with an interval and the
smallest change that is more than re-taking the photo.

A stage is a coarse label, and two photos a minute apart can fall either side of a stage boundary. Density
is read as a number from the embedding the classifier head reads, by a ridge regression fitted on the true
densities that a dataset's manifest gives (the synth records them; a clinic's CSV may). Its 90 % interval
is split conformal: the half-width is the conformal quantile of absolute errors on images the regression
was not fitted on, so about 90 % of new readings from that source hold the truth. The smallest detectable
change (SDC = 1.96 * sqrt(2) * SEM, SEM the test-retest standard error) comes from re-shoots: the same
scalp photographed twice, whose readings differ only by measurement noise.

Numpy only: the serving path imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

COVERAGE = 0.90  # of the interval
ALPHAS = (
    1.0,
    3.0,
    10.0,
    30.0,
    100.0,
    300.0,
    1000.0,
    3000.0,
    10000.0,
)  # ridge penalties; held-out error picks
MIN_IMAGES = 20  # training images with a known density needed to fit a measurement


@dataclass(frozen=True)
class DensityModel:
    """density = clip((embedding - mean) . weights + bias, 0, 1)."""

    mean: np.ndarray  # [D]
    weights: np.ndarray  # [D]
    bias: float

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        return np.clip((x - self.mean) @ self.weights + self.bias, 0.0, 1.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "weights": self.weights, "bias": np.array(self.bias)}

    @classmethod
    def from_arrays(cls, arrays) -> DensityModel:
        mean, weights = np.asarray(arrays["mean"], np.float64), np.asarray(arrays["weights"], np.float64)
        if mean.ndim != 1 or mean.shape != weights.shape:
            raise ValueError(f"density arrays of shapes {mean.shape} and {weights.shape}")
        return cls(mean, weights, float(arrays["bias"]))


@dataclass(frozen=True)
class Reading:
    """One photo's density with its interval (all shares of a full head, 0..1)."""

    estimate: float
    low: float
    high: float


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> DensityModel:
    mean = x.mean(axis=0)
    centred = x - mean
    # Solved in the dual when there are fewer rows than dimensions: an N x N system instead of D x D.
    if len(x) < x.shape[1]:
        gram = centred @ centred.T
        dual = np.linalg.solve(gram + alpha * np.eye(len(x)), y - y.mean())
        weights = centred.T @ dual
    else:
        weights = np.linalg.solve(
            centred.T @ centred + alpha * np.eye(x.shape[1]), centred.T @ (y - y.mean())
        )
    return DensityModel(mean, weights, float(y.mean()))


def fit(
    train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray
) -> tuple[DensityModel, float]:
    """The ridge regression whose penalty gives the lowest error on the held-out `val` images; returns it and
    that MAE."""
    x, y = np.asarray(train_x, np.float64), np.asarray(train_y, np.float64)
    best: tuple[DensityModel, float] | None = None
    for alpha in ALPHAS:
        model = _ridge(x, y, alpha)
        mae = float(np.mean(np.abs(model.predict(val_x) - val_y)))
        if best is None or mae < best[1]:
            best = (model, mae)
    assert best is not None
    return best


def half_width(predicted: np.ndarray, truth: np.ndarray, coverage: float = COVERAGE) -> float:
    """Split-conformal half-width: the ceil((n + 1) * coverage)-th smallest absolute error of n held-out
    readings (infinite when n is too small to promise the coverage)."""
    errors = np.sort(np.abs(np.asarray(predicted) - np.asarray(truth)))
    k = math.ceil((len(errors) + 1) * coverage)
    return float(errors[k - 1]) if k <= len(errors) else math.inf


def read(model: DensityModel, half: float, embedding: np.ndarray) -> Reading:
    estimate = float(model.predict(embedding)[0])
    return Reading(estimate, max(0.0, estimate - half), min(1.0, estimate + half))


def smallest_detectable_change(first: np.ndarray, second: np.ndarray) -> float:
    """1.96 * sqrt(2) * SEM from pairs of readings of the same scalps; SEM = sd(differences) / sqrt(2)."""
    differences = np.asarray(first, np.float64) - np.asarray(second, np.float64)
    if len(differences) < 2:
        raise ValueError("the smallest detectable change needs at least two re-shoot pairs")
    sem = float(np.std(differences, ddof=1)) / math.sqrt(2)
    return 1.96 * math.sqrt(2) * sem


def retest_pairs(scalps: list[str], shots: list[int]) -> list[tuple[int, int]]:
    """(first shot, re-shoot) index pairs: each scalp's shot 0 with each of its later shots."""
    first = {s: i for i, (s, k) in enumerate(zip(scalps, shots, strict=True)) if k == 0 and s}
    return [(first[s], i) for i, (s, k) in enumerate(zip(scalps, shots, strict=True)) if k > 0 and s in first]
