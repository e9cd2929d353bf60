"""Fixtures for the learning tests: tiny phantom datasets and one small training run shared by many tests.

Sizes are the smallest that exercise every path (8 phantoms a class at 96 px, a 96 px model input, one
tuning trial), so the whole folder runs in a few minutes on one core. The hub is offline and its cache is
an empty folder, so results never depend on weights a developer happens to have downloaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scalpcheck.settings import load_settings
from tests.helpers.training import TINY


def _isolate_hub(mp: pytest.MonkeyPatch, cache: Path) -> None:
    import huggingface_hub.constants

    from scalpcheck.learn import weights

    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    weights.hub_reachable.cache_clear()


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch, tmp_path):
    """The hub offline and its cache an empty folder of the test's own."""
    _isolate_hub(monkeypatch, tmp_path / "hf-cache")


@pytest.fixture(scope="session")
def tiny_scalp(tmp_path_factory) -> Path:
    """8 scalp phantoms a class at 96 px."""
    from scalpcheck.data.synth import write_dataset

    out = tmp_path_factory.mktemp("tiny") / "scalp"
    write_dataset("scalp", 8, seed=5, out=out, size=96, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_settings(tmp_path_factory):
    return load_settings({"SCALPCHECK_HOME": str(tmp_path_factory.mktemp("tiny-home"))})


@pytest.fixture(scope="session")
def tiny_run(tiny_scalp, tiny_settings, tmp_path_factory):
    """One run that takes every path: a pretrained and a random-init backbone, cross-validation,
    fine-tuning, export and publishing."""
    from scalpcheck.learn.backbones import get
    from scalpcheck.learn.train import TrainOptions, run

    options = TrainOptions(
        task="scalp",
        data=tiny_scalp,
        backbones=[get("efficientnet_lite0"), get("efficientnet_b0")],
        cv=2,
        allow_random_init=True,
        fine_tune=True,
        fine_tune_epochs=1,
        publish=True,
        **TINY,
    )
    with pytest.MonkeyPatch.context() as mp:
        _isolate_hub(mp, tmp_path_factory.mktemp("hf-cache"))
        return run(options, tiny_settings)
