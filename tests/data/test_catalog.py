"""The dataset catalog: layouts, case-insensitive labels, custom tasks, manifests and refusals."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from scalpcheck.data import catalog
from scalpcheck.errors import UsageError
from scalpcheck.tasks import SCALP
from tests.helpers.datasets import BAD_FOLDERS


def put(path, colour=(120, 90, 70)):
    """A small image file; the catalog never opens it, so its content only matters for hashes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path)
    return path


def flat_dataset(root, labels=SCALP.labels, per_label=3):
    for k, label in enumerate(labels):
        for i in range(per_label):
            put(root / label / f"{label}_{i}.jpg", (k * 40, i * 30, 100))
    return root


def test_flat_layout_with_a_builtin_task(tmp_path):
    root = flat_dataset(tmp_path / "d")
    (root / "defects.json").write_text("{}")  # root-level files are not items
    (root / "healthy" / "notes.txt").write_text("not an image suffix")
    put(root / "healthy" / ".hidden.jpg")
    cat = catalog.scan(root, task="scalp")
    assert cat.layout == "flat"
    assert cat.task is SCALP
    assert len(cat.items) == 12
    assert all(i.split is None and i.path.is_absolute() for i in cat.items)
    assert cat.counts() == {"all": dict.fromkeys(SCALP.labels, 3)}
    catalog.require_trainable(cat)


def test_label_folders_match_case_insensitively_and_merge(tmp_path):
    root = tmp_path / "d"
    put(root / "Alopecia" / "a.JPG")
    put(root / "alopecia" / "b.png")
    put(root / "HEALTHY" / "c.jpeg")
    cat = catalog.scan(root, task="scalp")
    assert cat.counts()["all"] == {"alopecia": 2, "folliculitis": 0, "healthy": 1, "psoriasis": 0}
    assert {i.label for i in cat.items} == {"alopecia", "healthy"}


def test_unknown_folders_make_a_custom_task(tmp_path):
    labels = [f"class_{k}" for k in range(10)]
    cat = catalog.scan(flat_dataset(tmp_path / "public", labels=labels))
    assert cat.task.name == "public"
    assert cat.task.labels == tuple(labels)
    named = catalog.scan(tmp_path / "public", task="mine")
    assert named.task.name == "mine" and len(named.items) == 30


def test_builtin_task_refuses_a_foreign_folder(tmp_path):
    root = flat_dataset(tmp_path / "d", labels=("healthy", "dandruff"))
    with pytest.raises(UsageError, match="dandruff.*alopecia, folliculitis, healthy, psoriasis"):
        catalog.scan(root, task="scalp")


def test_images_in_nested_folders_are_found(tmp_path):
    root = tmp_path / "d"
    put(root / "healthy" / "patient_1" / "a.jpg")
    put(root / "alopecia" / "b.webp")
    assert len(catalog.scan(root).items) == 2


def test_presplit_layout_with_split_aliases(tmp_path):
    root = tmp_path / "d"
    for split, n in (("train", 4), ("Valid", 2), ("test", 1)):
        flat_dataset(root / split, labels=("a", "b"), per_label=n)
    cat = catalog.scan(root)
    assert cat.layout == "presplit"
    counts = cat.counts()
    assert counts["train"] == {"a": 4, "b": 4}
    assert counts["val"] == {"a": 2, "b": 2}
    assert counts["test"] == {"a": 1, "b": 1}
    assert counts["all"] == {"a": 7, "b": 7}
    text = catalog.summary(cat)
    assert "presplit" in text and "train" in text and "total" in text
    assert text.splitlines()[-1].split() == ["total", "8", "4", "2", "14"]


def test_presplit_split_missing_a_label_is_refused(tmp_path):
    root = tmp_path / "d"
    flat_dataset(root / "train", labels=("a", "b"))
    flat_dataset(root / "test", labels=("a",))
    with pytest.raises(UsageError, match="test split has no images of b"):
        catalog.scan(root)


def test_split_folders_mixed_with_label_folders_are_refused(tmp_path):
    root = tmp_path / "d"
    flat_dataset(root / "train", labels=("a", "b"))
    put(root / "c" / "x.jpg")
    with pytest.raises(UsageError, match="mixes split folders"):
        catalog.scan(root)


@BAD_FOLDERS
def test_bad_folders_are_one_line_usage_errors(tmp_path, make, message):
    path = make(tmp_path / "d")
    with pytest.raises(UsageError, match=message) as err:
        catalog.scan(path)
    assert "\n" not in str(err.value)


def test_require_trainable_names_the_problem(tmp_path):
    one_class = catalog.scan(flat_dataset(tmp_path / "one", labels=("healthy",)))
    with pytest.raises(UsageError, match="one class only"):
        catalog.require_trainable(one_class)
    root = flat_dataset(tmp_path / "few", labels=("healthy", "alopecia"))
    (root / "alopecia" / "alopecia_1.jpg").unlink()
    (root / "alopecia" / "alopecia_2.jpg").unlink()
    with pytest.raises(UsageError, match="class alopecia has 1 image;"):
        catalog.require_trainable(catalog.scan(root))
    # A built-in task wants all of its labels.
    with pytest.raises(UsageError, match="class folliculitis has 0 images"):
        catalog.require_trainable(
            catalog.scan(flat_dataset(tmp_path / "two", ("healthy", "alopecia")), "scalp")
        )


def test_fingerprint_follows_content_labels_and_splits(tmp_path):
    root = flat_dataset(tmp_path / "d", labels=("a", "b"))
    first = catalog.fingerprint(catalog.scan(root))
    assert first == catalog.fingerprint(catalog.scan(root))
    copy = flat_dataset(tmp_path / "copy", labels=("a", "b"))
    assert catalog.fingerprint(catalog.scan(copy)) == first  # where the data live does not matter
    put(root / "a" / "a_0.jpg", (1, 2, 3))
    assert catalog.fingerprint(catalog.scan(root)) != first
    (copy / "b" / "b_0.jpg").rename(copy / "a" / "b_0.jpg")
    assert catalog.fingerprint(catalog.scan(copy)) != first


def test_manifest_lists_every_file_with_its_hash(tmp_path):
    root = flat_dataset(tmp_path / "d", labels=("a", "b"), per_label=2)
    cat = catalog.scan(root)
    out = tmp_path / "out" / "manifest.csv"
    catalog.write_manifest(cat, out)
    rows = list(csv.DictReader(out.open()))
    assert [r["path"] for r in rows] == ["a/a_0.jpg", "a/a_1.jpg", "b/b_0.jpg", "b/b_1.jpg"]
    assert rows[0]["label"] == "a" and rows[0]["split"] == ""
    assert int(rows[0]["bytes"]) == (root / "a/a_0.jpg").stat().st_size
    assert rows[0]["sha256"] == catalog.file_sha256(root / "a/a_0.jpg")
    assert [p.name for p in out.parent.iterdir()] == ["manifest.csv"]  # no temporary file left


def test_synthetic_marker(tmp_path):
    root = flat_dataset(tmp_path / "d", labels=("a", "b"))
    assert not catalog.scan(root).synthetic
    (root / catalog.SYNTHETIC_MARKER).write_text("{}")
    assert catalog.scan(root).synthetic
