"""Frozen-backbone embeddings of every image, extracted once and cached.

With the backbone frozen, the head only ever sees embeddings, so each image goes through the backbone once
per view: the plain view (exactly the serving preprocessing) for every image, and a few augmented views of
each image the head may train on (balanced per label, so rare labels get more views). The result is cached
under SCALPCHECK_HOME/cache/features/, keyed by everything it depends on; tuning, cross-validation and a
second run then cost no backbone time at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scalpcheck.data.catalog import Item
from scalpcheck.data.transforms import balanced_views, eval_transform, load_rgb, train_transform
from scalpcheck.learn.backbones import embed
from scalpcheck.preprocess import Preprocess

BATCH_SIZE = 32
CACHE_FORMAT = 2  # 2: extracted by ONNX Runtime


@dataclass
class Features:
    embeddings: np.ndarray  # [M, D] float32 embeddings, or [M, C, h, w] float16 stem maps (learn.tail)
    item: np.ndarray  # [M] index into the item list the features were extracted for
    view: np.ndarray  # [M] 0 = the plain view, 1.. = augmented views
    seconds: float  # time the backbone extraction took (when it ran, not when read from the cache)

    @property
    def images_per_second(self) -> float:
        return len(self.item) / self.seconds if self.seconds > 0 else float("nan")

    def plain(self, items: Sequence[int]) -> np.ndarray:
        """Plain-view embeddings of the given item indices, in that order."""
        row = {int(i): r for r, i in enumerate(self.item) if self.view[r] == 0}
        return self.embeddings[[row[int(i)] for i in items]]

    def training_views(self, items: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """What the head trains on, and each row's item index: the augmented views of the given items, or
        the plain view of an item that has none.

        Like on-the-fly augmentation, the head never sees the exact un-augmented training image; the
        plain views of the training images then measure the train/validation gap as the reference did.
        """
        wanted = np.isin(self.item, np.asarray(items, dtype=np.int64))
        augmented = wanted & (self.view > 0)
        mask = augmented | (wanted & ~np.isin(self.item, self.item[augmented]))
        return self.embeddings[mask], self.item[mask]


def view_plan(items: Sequence[Item], augment: Sequence[int], views: int) -> dict[int, int]:
    """Augmented views per item index: `views` per image for the largest label, more for smaller ones."""
    counts: dict[str, int] = {}
    for i in augment:
        counts[items[i].label] = counts.get(items[i].label, 0) + 1
    per_label = balanced_views(counts, views) if views > 0 and counts else {}
    return {int(i): per_label.get(items[i].label, 0) for i in augment}


def _view_seed(seed: int, item: int, view: int) -> int:
    """Each augmented view's own seed, so a view does not depend on the order images are processed in."""
    return int(np.random.SeedSequence([seed, item, view]).generate_state(1)[0])


class _Pooled(nn.Module):
    """The backbone base and its global average: image -> embedding."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return embed(self.backbone, image)


def runner(network: nn.Module, input_size: int, output: str):
    """A function [N, 3, S, S] float32 -> the network's output, running it in ONNX Runtime.

    The frozen network is traced once and run by ONNX Runtime, faster on a CPU than eager PyTorch
    (bench_learn measures by how much); for embeddings the graph is the one the bundle ships, so training
    sees the embeddings serving will compute.
    """
    from scalpcheck import onnx_session
    from scalpcheck.learn.export import trace_to_onnx

    buffer = io.BytesIO()
    trace_to_onnx(network, input_size, buffer, (output,))
    session = onnx_session.create(buffer.getvalue(), spin=True)  # training has the machine to itself
    return lambda images: session.run(None, {"image": images})[0]


def _batches(items: Sequence[Item], pre: Preprocess, plan: dict[int, int], seed: int):
    """Batches of (item index, view) keys and their preprocessed images, at most BATCH_SIZE each."""
    plain, augmented = eval_transform(pre), train_transform(pre)
    keys: list[tuple[int, int]] = []
    images: list[torch.Tensor] = []
    for i, item in enumerate(items):
        img = load_rgb(item.path)
        keys.append((i, 0))
        images.append(plain(img))
        for view in range(1, plan.get(i, 0) + 1):
            torch.manual_seed(_view_seed(seed, i, view))
            keys.append((i, view))
            images.append(augmented(img))
        while len(images) >= BATCH_SIZE:
            yield keys[:BATCH_SIZE], torch.stack(images[:BATCH_SIZE]).numpy()
            del keys[:BATCH_SIZE], images[:BATCH_SIZE]
    if images:
        yield keys, torch.stack(images).numpy()


def extract(
    network: nn.Module,
    items: Sequence[Item],
    pre: Preprocess,
    plan: dict[int, int],
    seed: int,
    progress: bool = False,
    desc: str = "features",
    *,
    maps: bool = False,
) -> Features:
    """Embeddings (global average of `forward_features`) of the plain view of every item and of
    `plan[i]` augmented views of item i; with `maps`, the network's own output instead, as float16 maps.

    One thread decodes and augments the next batch while ONNX Runtime runs the current one, so the cores
    do not wait for image preparation.
    """
    output, dtype = ("maps", np.float16) if maps else ("embedding", np.float32)
    compute = runner(network if maps else _Pooled(network), pre.input_size, output)
    chunks: list[np.ndarray] = []
    index: list[tuple[int, int]] = []
    start = time.perf_counter()
    total = len(items) + sum(plan.values())
    with (
        tqdm(total=total, desc=desc, unit="img", disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=1) as prefetch,
    ):
        batches = _batches(items, pre, plan, seed)
        upcoming = prefetch.submit(next, batches, None)
        while (batch := upcoming.result()) is not None:
            upcoming = prefetch.submit(next, batches, None)
            keys, images = batch
            chunks.append(compute(images).astype(dtype))
            index += keys
            bar.update(len(keys))
    seconds = time.perf_counter() - start
    item, view = (np.asarray(column, dtype=np.int64) for column in zip(*index, strict=True))
    return Features(np.concatenate(chunks), item, view, seconds)


def cache_key(**parts) -> str:
    """A digest of everything the features depend on (data, backbone, weights, preprocessing, views, seed)."""
    text = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load_cached(path: Path) -> Features | None:
    try:
        with np.load(path) as f:
            return Features(f["embeddings"], f["item"], f["view"], float(f["seconds"]))
    except (OSError, KeyError, ValueError):
        return None  # missing or damaged: extract again


def save_cached(path: Path, features: Features) -> None:
    """Write atomically: a concurrent or interrupted run never reads half a cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(
            tmp,
            embeddings=features.embeddings,
            item=features.item,
            view=features.view,
            seconds=np.float64(features.seconds),
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cached_extract(cache_dir: Path, key: str, name: str, compute) -> tuple[Features, bool]:
    """Features from cache_dir/<name>-<key>.npz when present, else `compute()` them and store them.

    Returns the features and whether they came from the cache.
    """
    path = Path(cache_dir) / f"{name}-{key[:24]}.npz"
    cached = load_cached(path) if path.is_file() else None
    if cached is not None:
        return cached, True
    features = compute()
    save_cached(path, features)
    return features, False
