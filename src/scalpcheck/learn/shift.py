"""Photos from a source the model is not trained on: what calibrates it, and what tests it.

`--calibrate-on DIR`: the temperature and the refusal threshold are fitted on DIR, photos from another
source (another camera, clinic or phantom style), because both must hold for photos unlike the training
set: fitted on the validation split, a model is as sure of a new source's photos as of its own, and a
threshold set there refuses many of them. `--shift-test DIR`: the exported bundle is evaluated on DIR
through the serving path, gate included, by subgroup; the card and the report carry the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scalpcheck.data.catalog import scan
from scalpcheck.data.transforms import load_rgb
from scalpcheck.errors import UsageError
from scalpcheck.learn.backbones import FeatureModel
from scalpcheck.learn.dataset import PreparedData
from scalpcheck.preprocess import Preprocess, preprocess

BATCH = 32


@dataclass(frozen=True)
class Source:
    """A labelled set of photos from another source, run through the trained network."""

    root: Path
    y: np.ndarray  # class indices
    logits: np.ndarray  # [N, K]
    embeddings: np.ndarray  # [N, D]
    groups: dict[str, list[str]]  # its manifest's subgroups


def network_outputs(model: FeatureModel, images, pre: Preprocess) -> tuple[np.ndarray, np.ndarray]:
    """Logits and the gate's embeddings (the reference output where the network has one) of PIL images'
    plain views through the whole network, in batches."""
    logits, embeddings = [], []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), BATCH):
            x = torch.from_numpy(np.stack([preprocess(img, pre) for img in images[start : start + BATCH]]))
            out = model(x)
            logits.append(out[0].numpy().astype(np.float64))
            embeddings.append(out[-1].numpy() if len(out) == 4 else out[1].numpy())
    return np.concatenate(logits), np.concatenate(embeddings)


def load_source(root: Path, data: PreparedData, model: FeatureModel, pre: Preprocess, what: str) -> Source:
    """`root`'s photos through the network; a UsageError naming `what` when they do not fit the task."""
    catalog = scan(root, data.catalog.task.name)
    unknown = sorted({i.label for i in catalog.items} - set(data.labels))
    if unknown:
        raise UsageError(f"{what} {root}: label {unknown[0]!r} is not a class of the task")
    if catalog.root == data.catalog.root:
        raise UsageError(f"{what} {root} is the training data; give photos from another source")
    logits, embeddings = network_outputs(model, [load_rgb(i.path) for i in catalog.items], pre)
    y = np.array([data.labels.index(i.label) for i in catalog.items], dtype=np.int64)
    return Source(catalog.root, y, logits, embeddings, catalog.groups(catalog.items))


def check_source(root: Path | None, what: str) -> None:
    """Before anything is written: the folder exists and holds a labelled dataset."""
    if root is not None:
        scan(root)  # raises UsageError for a missing, empty or unlabelled folder
        if not Path(root).is_dir():
            raise UsageError(f"{what} {root}: not a folder")
