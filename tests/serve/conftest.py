"""Bundles and photos for the serving tests.

`random_bundles` are real bundles, written by the one exporter (scalpcheck.learn.export) from a random-init
efficientnet_lite0 and a random head: every serving code path runs on them, but what they predict means
nothing, so they accept every photo (their out-of-distribution threshold is out of reach).
`trained_scalp_bundle` is a small model really trained on phantoms (slow to make: tests using it are
marked slow); refusing photos that are not scalps and where the heat map points are tested on it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalpcheck import bundle, ood
from scalpcheck.settings import load_settings
from scalpcheck.tasks import TASKS

ACCEPT_EVERYTHING = 1e9  # an out-of-distribution threshold no embedding reaches


def _export_random_bundle(out: Path, task: str, seed: int) -> Path:
    import torch

    from scalpcheck.learn import backbones, export
    from scalpcheck.learn.head import Head

    torch.manual_seed(seed)
    backbone = backbones.get("efficientnet_lite0")
    head = Head(backbone.feature_dim, len(TASKS[task].labels), hidden=32, dropout=0.3)
    model = backbones.FeatureModel(backbone.create(), head).eval()
    pre = backbone.preprocess()
    probe = torch.randn(6, 3, pre.input_size, pre.input_size, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        embeddings = model(probe)[1].numpy()
    card = export.make_card(
        task=TASKS[task],
        pre=pre,
        backbone={"name": backbone.name, "weights_source": "random init", "pretrained": False},
        temperature=1.5,
        ood={"method": ood.METHOD, "threshold": ACCEPT_EVERYTHING, "heldout_accept_rate": 1.0},
        metrics={"accuracy": 0.25},
        data={"fingerprint": f"{seed:064x}", "n_images": 0, "counts": {}},
        synthetic=True,
    )
    return export.write_bundle(out, model, card, ood.fit(embeddings), probe[:2])


@pytest.fixture(scope="session")
def random_bundles(tmp_path_factory) -> dict[str, Path]:
    """{task: bundle folder} for both built-in tasks (random weights; see the module docstring)."""
    root = tmp_path_factory.mktemp("bundles")
    return {task: _export_random_bundle(root / task, task, seed) for seed, task in enumerate(TASKS, 1)}


@pytest.fixture(scope="session")
def trained_scalp_bundle(tmp_path_factory) -> Path:
    """A scalp model trained with `scalpcheck train` defaults on 20 phantoms a class (1 tuning trial)."""
    from scalpcheck.data.synth import write_dataset
    from scalpcheck.learn.train import TrainOptions, run

    root = tmp_path_factory.mktemp("trained")
    data = root / "phantoms"
    write_dataset("scalp", 20, seed=3, out=data, progress=False)
    settings = load_settings({"SCALPCHECK_HOME": str(root / "home")})
    return run(TrainOptions(task="scalp", data=data, trials=1, progress=False), settings).bundle_dir


@pytest.fixture
def models_dir(home, random_bundles) -> Path:
    """The test home's models/ folder with both random bundles published, as `make run` would leave it."""
    models = home / "models"
    for task, path in random_bundles.items():
        bundle.publish(path, models, task)
    return models


def _scalp_like(size: int, seed: int) -> Image.Image:
    """A sharp, mid-bright texture of dark strands on skin tone: passes the quality gate."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) / 2.5 + rng.uniform(0, 6)) > 0.6
    skin = np.array([205, 160, 135], np.float32) * (0.9 + 0.1 * np.sin(x / 40.0))[..., None]
    rgb = np.where(stripes[..., None], np.array([60, 40, 30], np.float32), skin)
    rgb += rng.normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture
def scalp_photo():
    """make(size=320, seed=0) -> an RGB photo that passes the quality gate."""
    return lambda size=320, seed=0: _scalp_like(size, seed)


def _encode(img: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.fixture
def encode():
    """encode(image, format="JPEG", **save_params) -> the file's bytes."""
    return _encode
