"""Tuning the head (scalpcheck.learn.tune), alone and as several runs sharing one Optuna study in a
database: SQLite here, and PostgreSQL (the storage several machines would share) when TEST_DATABASE_URL
is set."""

from __future__ import annotations

import os
import secrets

import numpy as np
import optuna
import pytest

from scalpcheck.learn.tune import TUNED, SharedStudy, tune_head


def blobs(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Three separable classes of 16-dimensional embeddings."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 16)).astype(np.float32) + np.eye(3, 16, dtype=np.float32)[y] * 3
    return x, y


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'optuna.db'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    return url


def test_alone_the_first_trial_is_the_default_and_the_best_is_kept():
    (x, y), (xv, yv) = blobs(0), blobs(1)
    best, rows = tune_head(x, y, xv, yv, 3, trials=4, seed=0)
    assert [row["trial"] for row in rows] == [0, 1, 2, 3]
    assert rows[0]["lr"] == 1e-3 and rows[0]["hidden"] == 128  # HeadParams' defaults
    assert best.best_val_loss == min(row["val_loss"] for row in rows)


def test_runs_sharing_a_study_tune_together(storage):
    (x, y), (xv, yv) = blobs(0), blobs(1)
    shared = SharedStudy(storage, f"test-{secrets.token_hex(4)}").for_backbone("efficientnet_lite0")
    _, first_rows = tune_head(x, y, xv, yv, 3, trials=3, seed=0, shared=shared)
    best, second_rows = tune_head(x, y, xv, yv, 3, trials=3, seed=1, shared=shared)
    study = optuna.load_study(study_name=shared.name, storage=storage)
    assert len(study.trials) == 6 and len(first_rows) == len(second_rows) == 3
    assert [t.number for t in study.trials[:1]] == [0] and study.trials[0].params["lr"] == 1e-3  # once
    assert {k: getattr(best.params, k) for k in TUNED} == study.best_params  # the best of both runs
    assert best.best_val_loss == pytest.approx(study.best_value, rel=1e-6)


def test_a_study_name_needs_a_storage(tmp_path):
    from scalpcheck.errors import UsageError
    from scalpcheck.learn.train import TrainOptions

    with pytest.raises(UsageError, match="--study-name goes with --study-storage"):
        TrainOptions(task="scalp", data=tmp_path, study_name="shared").validate()
    options = TrainOptions(task="scalp", data=tmp_path, study_storage="sqlite:///x.db")
    assert options.shared_study == SharedStudy("sqlite:///x.db", "scalpcheck-scalp")
