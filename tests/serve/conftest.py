"""Bundles and photos for the serving tests.

`random_bundles` are real bundles to the letter of scalpcheck.bundle, exported from a random-init timm
efficientnet_lite0 and a random head: every serving code path runs on them, but what they predict means
nothing, so they accept every photo (their out-of-distribution threshold is out of reach). Refusing
non-scalp photos and where the heat map points are tested on a trained model (tests needing one say so).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalpcheck import __version__, bundle, ood
from scalpcheck.preprocess import Preprocess
from scalpcheck.tasks import TASKS

INPUT_SIZE = 224
HIDDEN = 32
ACCEPT_EVERYTHING = 1e9  # an out-of-distribution threshold no embedding reaches


def _export_random_bundle(out: Path, task: str, seed: int) -> Path:
    import timm
    import torch

    torch.manual_seed(seed)
    labels = TASKS[task].labels
    backbone = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=0).eval()
    dims = [backbone.num_features, HIDDEN, HIDDEN, len(labels)]
    layers = [torch.nn.Linear(dims[i], dims[i + 1]) for i in range(3)]
    head = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2]).eval()

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, image):
            feature_map = self.backbone.forward_features(image)
            embedding = feature_map.mean(dim=(2, 3))
            return self.head(embedding), embedding, feature_map

    out.mkdir(parents=True)
    graph = Graph().eval()
    pre = Preprocess(input_size=INPUT_SIZE)
    probe = torch.from_numpy(
        np.random.default_rng(seed).normal(size=(6, 3, INPUT_SIZE, INPUT_SIZE)).astype("f4")
    )
    with torch.inference_mode():
        embeddings = graph(probe)[1].numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter: fast, and enough here
        torch.onnx.export(
            graph,
            (probe[:1],),
            str(out / bundle.MODEL_FILE),
            input_names=["image"],
            output_names=["logits", "embedding", "feature_map"],
            dynamic_axes={name: {0: "n"} for name in ("image", "logits", "embedding", "feature_map")},
            opset_version=18,
            dynamo=False,
        )
    np.savez(
        out / bundle.HEAD_FILE,
        **{f"w{i}": layer.weight.detach().numpy() for i, layer in enumerate(layers)},
        **{f"b{i}": layer.bias.detach().numpy() for i, layer in enumerate(layers)},
    )
    np.savez(out / bundle.OOD_FILE, **ood.fit(embeddings))
    card = {
        "format_version": bundle.FORMAT_VERSION,
        "model_version": f"{task}-20260101T000000-{seed:08x}",
        "task": task,
        "ordinal": TASKS[task].ordinal,
        "classes": [{"label": label, "display_name": TASKS[task].display_name(label)} for label in labels],
        "input_size": INPUT_SIZE,
        "preprocess": pre.to_card(),
        "backbone": {
            "name": "efficientnet_lite0",
            "weights_source": "random init (test)",
            "pretrained": False,
        },
        "temperature": 1.5,
        "ood": {"method": ood.METHOD, "threshold": ACCEPT_EVERYTHING, "heldout_accept_rate": 1.0},
        "metrics": {"accuracy": 0.25},
        "data": {"fingerprint": "0" * 64, "n_images": 0, "counts": {}},
        "created_at": "2026-01-01T00:00:00+00:00",
        "scalpcheck_version": __version__,
        "synthetic_data": True,
    }
    (out / bundle.CARD_FILE).write_text(json.dumps(card, indent=2))
    return out


@pytest.fixture(scope="session")
def random_bundles(tmp_path_factory) -> dict[str, Path]:
    """{task: bundle folder} for both built-in tasks (random weights; see the module docstring)."""
    root = tmp_path_factory.mktemp("bundles")
    return {task: _export_random_bundle(root / task, task, seed) for seed, task in enumerate(TASKS, 1)}


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
