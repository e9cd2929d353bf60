"""Preparing data for training: splits, cross-validation folds, the synthetic mark."""

from __future__ import annotations

import numpy as np
from PIL import Image

from scalpcheck.learn.dataset import prepare


def _write(folder, n, seed):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"{seed}_{i}.png")


def test_flat_layout_is_split_70_20_10_and_folds_cover_train_and_val(tmp_path):
    root = tmp_path / "data"
    for k, label in enumerate(("a", "b")):
        _write(root / label, 20, k)
    data = prepare(root, "two", seed=0, cv=3)
    assert {name: len(idx) for name, idx in data.split.items()} == {"train": 28, "val": 8, "test": 4}
    pool = set(data.split["train"] + data.split["val"])
    assert len(data.folds) == 9 and data.cv_k == 3
    for fit, held_out in data.folds:
        assert set(fit) | set(held_out) == pool and not set(fit) & set(held_out)
    assert data.synthetic is False and data.summary().counts == {"a": 20, "b": 20}


def test_presplit_layout_keeps_its_splits(tmp_path):
    root = tmp_path / "data"
    sizes = {"train": 6, "val": 3, "test": 2}
    for split, n in sizes.items():
        for k, label in enumerate(("a", "b")):
            _write(root / split / label, n, 10 * k + n)
    (root / "phantoms.json").write_text("{}")
    data = prepare(root, "two", seed=1)
    for split, n in sizes.items():
        assert len(data.split[split]) == 2 * n
        assert {data.items[i].split for i in data.split[split]} == {split}
    assert data.synthetic is True and data.folds == []
