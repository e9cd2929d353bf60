"""Bundles and photos for the serving tests.

`random_bundles` (tests/conftest.py) run every serving code path but predict nothing and accept every photo.
`trained_scalp_bundle` is the shared small model really trained on phantoms (slow to make: tests using it
are marked slow); refusing photos that are not scalps and where the heat map points are tested on it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalpcheck import bundle


@pytest.fixture(scope="session")
def trained_scalp_bundle(trained_bundles) -> Path:
    """The shared small scalp model trained on phantoms (tests/conftest.py)."""
    return trained_bundles["scalp"]


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
