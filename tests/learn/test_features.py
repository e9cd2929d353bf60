"""The feature cache and the plan of augmented views (no backbone needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scalpcheck.data.catalog import Item
from scalpcheck.learn.features import Features, cache_key, cached_extract, view_plan


def _features(seed=0) -> Features:
    rng = np.random.default_rng(seed)
    item = np.array([0, 0, 1, 2, 2, 2])
    view = np.array([0, 1, 0, 0, 1, 2])
    return Features(rng.normal(size=(6, 4)).astype(np.float32), item, view, seconds=2.0)


def test_plain_and_augmented_rows():
    f = _features()
    np.testing.assert_array_equal(f.plain([2, 0]), f.embeddings[[3, 0]])
    x, item = f.training_views([2, 1])  # item 2: its two augmented views; item 1 has none: its plain view
    np.testing.assert_array_equal(x, f.embeddings[[2, 4, 5]])
    np.testing.assert_array_equal(item, [1, 2, 2])
    assert f.images_per_second == 3.0


def test_rare_labels_get_more_views():
    items = [Item(Path(f"/{k}.jpg"), label, None) for k, label in enumerate(["a"] * 4 + ["b"] * 2)]
    plan = view_plan(items, range(6), views=2)
    assert plan == {0: 2, 1: 2, 2: 2, 3: 2, 4: 4, 5: 4}
    assert view_plan(items, range(6), views=0) == dict.fromkeys(range(6), 0)


def test_second_call_reads_the_cache_and_a_damaged_file_is_rebuilt(tmp_path):
    key = cache_key(data="abc", backbone="x", views=2)
    assert key != cache_key(data="abc", backbone="x", views=3)
    calls = []

    def compute():
        calls.append(1)
        return _features(len(calls))

    first, hit = cached_extract(tmp_path, key, "x", compute)
    second, hit_again = cached_extract(tmp_path, key, "x", compute)
    assert (hit, hit_again, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    assert second.seconds == first.seconds
    (cache_file,) = tmp_path.glob("x-*.npz")
    cache_file.write_bytes(b"half a file")
    _, hit = cached_extract(tmp_path, key, "x", compute)
    assert not hit and len(calls) == 2
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
