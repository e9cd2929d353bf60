"""A dataset's manifest.csv: per-image attributes that reports group their figures by."""

from __future__ import annotations

import pytest
from PIL import Image

from scalpcheck.data.attributes import UNKNOWN, read_attributes
from scalpcheck.data.catalog import scan
from scalpcheck.errors import UsageError


def _dataset(root, rows: str | None):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 50, 0, 0)).save(root / label / f"{i}.png")
    if rows is not None:
        (root / "manifest.csv").write_text(rows)
    return root


def test_a_users_manifest_gives_each_item_its_attributes_and_groups(tmp_path):
    rows = (
        "path,source,skin_third,camera_iso\n"
        "a/0.png,clinic,dark,100\na/1.png,home,light,\nb/0.png,clinic,,800\n"
    )
    catalog = scan(_dataset(tmp_path / "d", rows), "custom")
    by_path = {catalog.relative(i): catalog.attributes_of(i) for i in catalog.items}
    assert by_path["a/0.png"] == {"source": "clinic", "skin_third": "dark", "camera_iso": "100"}
    assert by_path["b/1.png"] == {}  # not in the manifest
    groups = catalog.groups(catalog.items)
    assert set(groups) == {"skin_third", "source"}  # subgroup columns only, in the reports' order
    assert groups["source"] == ["clinic", "home", "clinic", UNKNOWN]
    assert groups["skin_third"] == ["dark", "light", UNKNOWN, UNKNOWN]


def test_a_dataset_without_a_manifest_has_no_groups(tmp_path):
    catalog = scan(_dataset(tmp_path / "d", None), "custom")
    assert catalog.groups(catalog.items) == {} and read_attributes(catalog.root) == {}


def test_a_manifest_without_a_path_column_is_refused_with_a_message(tmp_path):
    with pytest.raises(UsageError, match="needs a `path` column"):
        scan(_dataset(tmp_path / "d", "file,source\na/0.png,clinic\n"), "custom")
