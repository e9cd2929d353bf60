"""Stratified, seeded splits and repeated stratified K-fold, and their manifests."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from scalpcheck.data.catalog import Catalog, Item
from scalpcheck.data.split import repeated_kfold, stratified_split, write_folds_csv, write_split_csv
from scalpcheck.errors import UsageError
from scalpcheck.tasks import custom_task

ROOT = Path("/data/set")


def make_catalog(counts: dict[str, int], split: str | None = None) -> Catalog:
    items = [
        Item(ROOT / label / f"{i:03d}.jpg", label, split) for label, n in counts.items() for i in range(n)
    ]
    return Catalog(ROOT, "flat" if split is None else "presplit", custom_task("t", list(counts)), items)


def label_counts(items):
    return dict(Counter(i.label for i in items))


def test_seventy_twenty_ten_per_class():
    splits = stratified_split(make_catalog({"a": 50, "b": 50, "c": 20}), seed=3)
    assert list(splits) == ["train", "val", "test"]
    assert label_counts(splits["train"]) == {"a": 35, "b": 35, "c": 14}
    assert label_counts(splits["val"]) == {"a": 10, "b": 10, "c": 4}
    assert label_counts(splits["test"]) == {"a": 5, "b": 5, "c": 2}
    paths = [i.path for part in splits.values() for i in part]
    assert len(paths) == len(set(paths)) == 120


def test_every_class_in_every_split_with_three_images():
    splits = stratified_split(make_catalog({"a": 3, "b": 4, "c": 100}))
    for part in splits.values():
        assert set(label_counts(part)) == {"a", "b", "c"}


def test_seeded():
    cat = make_catalog({"a": 30, "b": 30})
    assert stratified_split(cat, seed=1) == stratified_split(cat, seed=1)
    assert stratified_split(cat, seed=1)["test"] != stratified_split(cat, seed=2)["test"]


def test_a_class_too_small_to_split_is_named():
    with pytest.raises(UsageError, match="class b has 2 images"):
        stratified_split(make_catalog({"a": 10, "b": 2}))


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.2, 0.0), (0.7, 0.2, 0.2)])
def test_bad_fractions(fractions):
    with pytest.raises(UsageError, match="fractions"):
        stratified_split(make_catalog({"a": 10, "b": 10}), fractions=fractions)


def test_presplit_keeps_its_splits_and_carves_a_missing_one():
    train = make_catalog({"a": 18, "b": 18}, split="train").items
    test = [Item(ROOT / "test" / f"{k}.jpg", label, "test") for k, label in enumerate("aabb")]
    cat = Catalog(ROOT, "presplit", custom_task("t", ["a", "b"]), train + test)
    splits = stratified_split(cat)
    assert splits["test"] == test
    # val takes 0.2 / (0.7 + 0.2) of the given train split, per class
    assert label_counts(splits["val"]) == {"a": 4, "b": 4}
    assert label_counts(splits["train"]) == {"a": 14, "b": 14}
    assert not set(splits["val"]) & set(splits["train"])


def test_repeated_kfold_holds_each_image_out_once_per_repeat():
    items = make_catalog({"a": 10, "b": 15}).items
    folds = repeated_kfold(items, k=5, repeats=2, seed=0)
    assert len(folds) == 10
    for repeat in range(2):
        held = [i for _, out in folds[repeat * 5 : repeat * 5 + 5] for i in out]
        assert sorted(held, key=str) == sorted(items, key=str)
    for train, out in folds:
        assert label_counts(out) == {"a": 2, "b": 3}
        assert not set(train) & set(out) and len(train) + len(out) == 25
    assert folds[0][1] != folds[5][1]  # the repeats shuffle differently
    assert repeated_kfold(items, 5, 2, seed=0) == folds


def test_repeated_kfold_refuses_a_class_smaller_than_k():
    with pytest.raises(UsageError, match="class b has 3 images, fewer than the 5"):
        repeated_kfold(make_catalog({"a": 10, "b": 3}).items, k=5, repeats=1, seed=0)


def test_manifests(tmp_path):
    cat = make_catalog({"a": 10, "b": 10})
    splits = stratified_split(cat)
    write_split_csv(splits, ROOT, tmp_path / "split.csv")
    rows = list(csv.DictReader((tmp_path / "split.csv").open()))
    assert len(rows) == 20 and set(rows[0]) == {"path", "label", "split"}
    assert Counter(r["split"] for r in rows) == {"train": 14, "val": 4, "test": 2}
    assert rows[0]["path"].startswith(("a/", "b/"))

    folds = repeated_kfold(cat.items, k=4, repeats=3, seed=0)
    write_folds_csv(folds, 4, ROOT, tmp_path / "folds.csv")
    rows = list(csv.DictReader((tmp_path / "folds.csv").open()))
    assert len(rows) == 60
    assert Counter((r["repeat"], r["path"]) for r in rows).most_common(1)[0][1] == 1
    assert {r["fold"] for r in rows} == {"0", "1", "2", "3"}


def with_reshoots(counts: dict[str, int]) -> Catalog:
    """Every image of make_catalog(counts) and a re-shoot of each; a pair shares the manifest's scalp_id."""
    first = make_catalog(counts)
    items, attributes = [], {}
    for item in first.items:
        again = Item(item.path.with_name(item.path.stem + "_shot1.jpg"), item.label, None)
        items += [item, again]
        for shot, one in enumerate((item, again)):
            attributes[one.path.relative_to(ROOT).as_posix()] = {
                "scalp_id": item.path.stem + item.label,
                "shot": str(shot),
            }
    return Catalog(ROOT, "flat", first.task, sorted(items, key=lambda i: str(i.path)), attributes)


def test_the_photos_of_one_scalp_stay_in_one_split():
    catalog = with_reshoots({"a": 20, "b": 10})
    splits = stratified_split(catalog, seed=4)
    where = {str(i.path): name for name, items in splits.items() for i in items}
    for item in catalog.items:
        assert where[str(item.path)] == where[str(item.path).replace("_shot1", "")]
    assert label_counts(splits["test"]) == {"a": 4, "b": 2}  # 10 % of the scalps, both photos of each


def test_without_scalp_ids_the_split_is_the_one_image_by_image():
    plain = make_catalog({"a": 20, "b": 10})
    ids = Catalog(plain.root, plain.layout, plain.task, plain.items, {
        i.path.relative_to(ROOT).as_posix(): {"scalp_id": f"s{k}"} for k, i in enumerate(plain.items)
    })  # fmt: skip
    assert stratified_split(plain, seed=2) == stratified_split(ids, seed=2)


def test_cross_validation_holds_out_a_scalps_photos_together():
    from scalpcheck.data.split import scalp_key

    catalog = with_reshoots({"a": 10, "b": 10})
    folds = repeated_kfold(catalog.items, 5, 2, seed=0, scalp_of=scalp_key(catalog))
    assert len(folds) == 10
    for fit, held_out in folds:
        held = {str(i.path).replace("_shot1", "") for i in held_out}
        assert not held & {str(i.path).replace("_shot1", "") for i in fit}
        assert len(held_out) == 2 * len(held)


def test_a_class_with_too_few_scalps_is_named_with_its_images():
    with pytest.raises(UsageError, match="class b has 4 images of 2 scalps; at least 3 scalps needed"):
        stratified_split(with_reshoots({"a": 10, "b": 2}))
