"""Fixtures every test shares.

- `home` (automatic): a fresh SCALPCHECK_HOME per test, so its own SQLite database, image store and models;
  the model hub is offline, so no test downloads or depends on weights a developer happens to have.
- `random_bundles`: real bundles written by the one exporter from random weights; every serving code path
  runs on them, but they predict nothing and accept every photo.
- `trained_bundles` / `published_models`: small models really trained on phantoms for both tasks, built
  once per test run (shared by the xdist workers through a lock) and published into a test's home.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

TRAINED_PER_CLASS = 20  # phantoms a class for the shared trained models: enough to refuse non-scalps


def pytest_configure(config):
    """The hardening suite's summary line (tests/hardening/summary.py) is registered here: under xdist only
    this conftest is loaded where the summary is printed (the controller runs no test)."""
    path = Path(__file__).with_name("hardening") / "summary.py"
    spec = importlib.util.spec_from_file_location("hardening_summary", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config.pluginmanager.register(module.Summary(), "hardening-summary")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh SCALPCHECK_HOME per test; nothing a test writes leaks into ./var or another test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("SCALPCHECK_HOME", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY", "MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture(scope="session")
def random_bundles(tmp_path_factory) -> dict[str, Path]:
    """{task: bundle folder} for both built-in tasks, from random weights (see the module docstring)."""
    from scalpcheck.learn.export import untrained_bundle
    from scalpcheck.tasks import TASKS

    root = tmp_path_factory.mktemp("random-bundles")
    return {
        name: untrained_bundle(root / name, task, seed=seed)
        for seed, (name, task) in enumerate(TASKS.items(), 1)
    }


@pytest.fixture(scope="session")
def trained_bundles(tmp_path_factory, worker_id) -> dict[str, Path]:
    """{task: bundle folder}: `scalpcheck train` defaults (efficientnet_lite0, offline ImageNet weights, one
    tuning trial) on TRAINED_PER_CLASS phantoms a class, for both built-in tasks.

    Made once per test run: the first xdist worker to get here trains, the others wait on the lock and reuse.
    """
    from filelock import FileLock

    from scalpcheck.data.synth import write_dataset
    from scalpcheck.learn.train import TrainOptions, run
    from scalpcheck.settings import load_settings

    run_temp = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # xdist: each worker has its own folder inside this run's
        run_temp = run_temp.parent
    root = run_temp / "trained-bundles"
    root.mkdir(exist_ok=True)
    bundles = {}
    with FileLock(str(root / ".lock")), pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        for seed, task in enumerate(("scalp", "hairloss"), 3):
            done = root / task / "bundle"
            if not done.is_dir():
                work = root / f"{task}-work"
                shutil.rmtree(work, ignore_errors=True)
                write_dataset(task, TRAINED_PER_CLASS, seed=seed, out=work / "phantoms", progress=False)
                settings = load_settings({"SCALPCHECK_HOME": str(work / "home")})
                options = TrainOptions(task=task, data=work / "phantoms", trials=1, progress=False)
                result = run(options, settings)
                (root / task).mkdir(exist_ok=True)
                shutil.copytree(result.bundle_dir, root / task / ".bundle-tmp", dirs_exist_ok=True)
                (root / task / ".bundle-tmp").rename(done)
            bundles[task] = done
    return bundles


@pytest.fixture
def published_models(home, trained_bundles) -> Path:
    """The test home's models/ folder with both trained bundles published, as `make run` leaves it."""
    from scalpcheck import bundle

    for task, path in trained_bundles.items():
        bundle.publish(path, home / "models", task)
    return home / "models"
