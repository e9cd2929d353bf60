"""Hyper-parameter search for the head with Optuna's seeded TPE sampler.

The objective is the validation loss of the early-stopped head (cross-entropy, not a thresholded score:
it separates trials that are right by a wide margin from those right by luck, which matters with a few
dozen validation images). The first trial is always the default configuration, so tuning can only
improve on it. The test split is never seen here.

With a `SharedStudy` the trials are kept in a database that Optuna shares (any SQLAlchemy URL, PostgreSQL
for several machines): each run adds its trials to the same study, the sampler learns from all of them, and
the head is trained with the best parameters any run found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import optuna
from tqdm import tqdm

from scalpcheck.learn import defaults
from scalpcheck.learn.head import HeadParams, TrainedHead, train_head

OBJECTIVE = "validation cross-entropy loss (lower is better)"
TUNED = ("lr", "batch_size", "max_epochs", "dropout", "hidden")


@dataclass(frozen=True)
class SharedStudy:
    """Where several runs tune one head together: an Optuna storage URL and the study's name."""

    storage: str
    name: str

    def for_backbone(self, backbone: str) -> SharedStudy:
        return SharedStudy(self.storage, f"{self.name}-{backbone}")


def _suggest(trial: optuna.Trial) -> HeadParams:
    return HeadParams(
        lr=trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        batch_size=trial.suggest_categorical("batch_size", [16, 32, 64]),
        max_epochs=trial.suggest_int("max_epochs", 40, 200, step=20),
        dropout=trial.suggest_float("dropout", 0.0, 0.6),
        hidden=trial.suggest_categorical("hidden", [64, 128, 256]),
    )


def tune_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    trials: int = defaults.TRIALS,
    seed: int = 0,
    progress: bool = False,
    desc: str = "tuning",
    shared: SharedStudy | None = None,
) -> tuple[TrainedHead, list[dict]]:
    """The best head over `trials` configurations, and one row per trial (params, val loss, best epoch);
    with `shared`, over every trial of the shared study, and one row per trial of this run."""
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        storage=shared.storage if shared else None,
        study_name=shared.name if shared else None,
        load_if_exists=shared is not None,
    )
    if not study.trials:  # a shared study has it from its first run
        defaults = HeadParams()
        study.enqueue_trial({k: getattr(defaults, k) for k in TUNED})
    best: TrainedHead | None = None
    rows: list[dict] = []
    with tqdm(total=trials, desc=desc, unit="trial", disable=not progress) as bar:

        def objective(trial: optuna.Trial) -> float:
            nonlocal best
            trained = train_head(x_train, y_train, x_val, y_val, n_classes, _suggest(trial), seed=seed)
            trial.set_user_attr("seed", seed)  # a shared study's best is retrained as it was found
            rows.append(
                {
                    "trial": trial.number,
                    **trained.params.to_dict(),
                    "val_loss": trained.best_val_loss,
                    "best_epoch": trained.best_epoch,
                }
            )
            if best is None or trained.best_val_loss < best.best_val_loss:
                best = trained
            bar.update(1)
            bar.set_postfix(best_val_loss=f"{best.best_val_loss:.4f}")
            return trained.best_val_loss

        study.optimize(objective, n_trials=trials)
    if best is None:
        raise ValueError("tuning needs at least one trial")
    if shared is not None and study.best_value < best.best_val_loss:  # another run found better
        found = study.best_trial
        params = HeadParams(**found.params)
        best = train_head(x_train, y_train, x_val, y_val, n_classes, params, seed=found.user_attrs["seed"])
    return best, rows
