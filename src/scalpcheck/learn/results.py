"""What a training run finds, as types: each backbone's figures and the run's summary, leaderboard included.

metrics.json is RunSummary written out; report.md and leaderboard.csv are written from its attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scalpcheck.card import Card, DataInfo
from scalpcheck.evaluation import CrossValidation, DensityScores, Evaluation
from scalpcheck.learn.head import HeadParams


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """The temperature and what the splits measured before it; the calibrated figures are the splits' own."""

    temperature: float
    fitted_on: str  # the validation split, or photos of another source
    val_ece_before: float
    test_ece_before: float
    test_log_loss_before: float


@dataclass(frozen=True, kw_only=True)
class Overfitting:
    train_accuracy: float  # plain views of the training images
    val_accuracy: float
    gap_points: float


@dataclass(frozen=True, kw_only=True)
class FineTuning:
    epochs: int
    val_loss_before: float
    val_loss_after: float
    kept: bool  # only when it lowered the validation loss


@dataclass(frozen=True, kw_only=True)
class Figures:
    """One backbone's figures: validation chose it, the test split (calibrated) judges it."""

    val: Evaluation
    test: Evaluation
    calibration: Calibration
    overfitting: Overfitting
    cv: CrossValidation | None = None
    fine_tuned: FineTuning | None = None


@dataclass(frozen=True, kw_only=True)
class BackboneSummary:
    """One backbone's line of the comparison: how it was fitted, what it cost, and its figures."""

    backbone: str
    weights: str
    pretrained: bool
    params: HeadParams
    best_epoch: int
    trials: list[dict[str, Any]]  # one row per Optuna trial
    figures: Figures
    extract_img_per_s: float  # of the run that extracted its features (a cached run reads theirs)
    features_cached: bool
    seconds: float


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    task: str
    labels: tuple[str, ...]
    ordinal: bool
    synthetic_data: bool
    data: DataInfo
    selection: str  # what chose the backbone
    tuning_objective: str
    views: int
    best: str
    bundle: Card
    leaderboard: list[BackboneSummary] = field(default_factory=list)  # best first, by the selection score
    seconds: float = 0.0
    density: DensityScores | None = None  # the density measurement on the test split

    @property
    def best_summary(self) -> BackboneSummary:
        return next(b for b in self.leaderboard if b.backbone == self.best)

    @property
    def best_figures(self) -> Figures:
        return self.best_summary.figures
