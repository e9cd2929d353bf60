"""Hyper-parameter search for the head with Optuna's seeded TPE sampler.

The objective is the validation loss of the early-stopped head (cross-entropy, not a thresholded score:
it separates trials that are right by a wide margin from those right by luck, which matters with a few
dozen validation images). The first trial is always the default configuration, so tuning can only
improve on it. The test split is never seen here.
"""

from __future__ import annotations

import logging

import numpy as np
import optuna
from tqdm import tqdm

from scalpcheck.learn import defaults
from scalpcheck.learn.head import HeadParams, TrainedHead, train_head

OBJECTIVE = "validation cross-entropy loss (lower is better)"


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
) -> tuple[TrainedHead, list[dict]]:
    """The best head over `trials` configurations, and one row per trial (params, val loss, best epoch)."""
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    defaults = HeadParams()
    study.enqueue_trial(
        {k: getattr(defaults, k) for k in ("lr", "batch_size", "max_epochs", "dropout", "hidden")}
    )
    best: TrainedHead | None = None
    rows: list[dict] = []
    with tqdm(total=trials, desc=desc, unit="trial", disable=not progress) as bar:

        def objective(trial: optuna.Trial) -> float:
            nonlocal best
            trained = train_head(x_train, y_train, x_val, y_val, n_classes, _suggest(trial), seed=seed)
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
    return best, rows
