"""What a training run finds, as types: each backbone's figures, the leaderboard and the run's summary.

metrics.json is RunSummary written out; report.md and leaderboard.csv read these attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scalpcheck.card import Card, DataInfo
from scalpcheck.evaluation import CrossValidation, Evaluation
from scalpcheck.learn.head import HeadParams


@dataclass(frozen=True, kw_only=True)
class Calibration:
    temperature: float
    val_ece_before: float
    val_ece_after: float
    test_ece_before: float
    test_ece_after: float
    test_log_loss_before: float
    test_log_loss_after: float


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
    weights: str
    pretrained: bool
    params: HeadParams
    best_epoch: int
    trials: list[dict[str, Any]]  # one row per Optuna trial
    figures: Figures


@dataclass(frozen=True, kw_only=True)
class LeaderboardRow:
    rank: int
    backbone: str
    pretrained: bool
    weights: str
    lr: float
    batch_size: int
    max_epochs: int
    dropout: float
    hidden: int
    weight_decay: float
    best_epoch: int
    val_loss: float
    val_accuracy: float
    val_f1_macro: float
    test_accuracy: float
    test_f1_macro: float
    val_qwk: float | None = None
    test_qwk: float | None = None
    test_mae: float | None = None
    test_ece_before: float
    test_ece_after: float
    temperature: float
    train_accuracy: float
    gap_points: float
    cv_accuracy_mean: float | None = None
    cv_f1_macro_mean: float | None = None
    cv_qwk_mean: float | None = None
    extract_img_per_s: float
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
    backbones: dict[str, BackboneSummary] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def best_figures(self) -> Figures:
        return self.backbones[self.best].figures
