"""Training's side of the hair-density measurement (scalpcheck.density).

The regression is fitted on the embeddings the exported head reads (the fine-tuned ones after
`--fine-tune`) of the training images whose density the manifest gives. Its penalty, the interval's
half-width and the smallest detectable change come from the calibration source when it gives densities
(photos of another source, like those the model will meet), else from the validation split; the test
split measures them. A dataset without densities gets no measurement: its
model says so rather than inventing one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpcheck import density
from scalpcheck.card import DensityInfo
from scalpcheck.data.attributes import shot
from scalpcheck.evaluation import DensityScores, density_scores
from scalpcheck.learn.compare import Candidate
from scalpcheck.learn.dataset import PreparedData
from scalpcheck.learn.shift import Source


@dataclass(frozen=True)
class Measurement:
    model: density.DensityModel
    info: DensityInfo
    test: DensityScores


def _scalps_and_shots(data: PreparedData, idx: list[int]) -> tuple[list[str], list[int]]:
    rows = [data.catalog.attributes_of(data.items[i]) for i in idx]
    return [r.get("scalp_id", "") for r in rows], [shot(r) for r in rows]


def _known(truth: np.ndarray, idx: list[int]) -> list[int]:
    return [i for i in idx if np.isfinite(truth[i])]


def fit_measurement(best: Candidate, data: PreparedData, calibration: Source | None) -> Measurement | None:
    """The density measurement of `best`'s exported network, or None when too few images have a density."""
    truth = data.density
    train, val, test = (_known(truth, data.split[s]) for s in ("train", "val", "test"))
    if len(train) < density.MIN_IMAGES or not val or not test:
        return None
    features = best.features
    given = calibration is not None and np.isfinite(calibration.density).sum() >= density.MIN_IMAGES
    if calibration is not None and given:
        known = np.isfinite(calibration.density)
        # The penalty is chosen on photos like those the model will meet: on another style, the
        # validation split's choice regularises too little (a larger error and re-shoot noise).
        model, _ = density.fit(
            features.plain(train), truth[train], calibration.features[known], calibration.density[known]
        )
        readings = model.predict(calibration.features)
        half = density.half_width(readings[known], calibration.density[known])
        source = f"{int(known.sum())} images of {calibration.root.name}"
        scalps, shots = calibration.scalps, calibration.shots
    else:
        model, _ = density.fit(features.plain(train), truth[train], features.plain(val), truth[val])
        readings = model.predict(features.plain(val))
        half = density.half_width(readings, truth[val])
        source = f"{len(val)} validation images"
        scalps, shots = _scalps_and_shots(data, val)
    if not np.isfinite(half):  # too few held-out images to promise the coverage
        return None
    pairs = density.retest_pairs(scalps, shots)
    sdc = None
    if len(pairs) >= 2:
        first, second = (list(side) for side in zip(*pairs, strict=True))
        sdc = density.smallest_detectable_change(readings[first], readings[second])
    estimate = model.predict(features.plain(test))
    test_scalps, test_shots = _scalps_and_shots(data, test)
    scores = density_scores(
        estimate,
        np.clip(estimate - half, 0, 1),
        np.clip(estimate + half, 0, 1),
        truth[test],
        stage=data.y[test] if data.catalog.task.ordinal else None,
        scalps=test_scalps,
        shots=test_shots,
        sdc=sdc,
    )
    info = DensityInfo(
        fitted_on=f"{len(train)} training images (plain views) with a known density",
        coverage_target=density.COVERAGE,
        half_width=half,
        interval_from=source,
        mae=scores.mae,
        coverage=scores.coverage,
        measured_on=f"{scores.n} test images",
        smallest_detectable_change=sdc,
        retest_pairs=len(pairs) if sdc is not None else None,
        change_from=f"{len(pairs)} re-shoot pairs of the {source}" if sdc is not None else None,
    )
    return Measurement(model, info, scores)
