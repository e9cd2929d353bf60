"""Per-image attributes of a dataset: DIR/manifest.csv, which `scalpcheck synth` writes and a user may too.

A manifest is a CSV with a `path` column (the image's path inside DIR, forward slashes) and any other
columns: the synth's style, skin-tone group, hair colour, true density, ..., or a clinic's own (the
camera, the site, a Fitzpatrick type). Reports group their figures by the columns in GROUPS that a
manifest has; training reads numeric columns (the true density) from it. Images the manifest does not
list simply have no attributes.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from scalpcheck.errors import UsageError

MANIFEST = "manifest.csv"
# Columns that name a subgroup, in the order reports show them: figures per group and the largest gap.
GROUPS = ("style", "skin_third", "skin_group", "hair_colour", "source", "fitzpatrick")
UNKNOWN = "unknown"  # the group of an image the manifest does not describe


def read_attributes(root: Path) -> dict[str, dict[str, str]]:
    """{relative path: {column: value}} from root/manifest.csv; {} when there is none."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "path" not in reader.fieldnames:
                raise UsageError(
                    f"{path}: a manifest needs a `path` column (the image's path inside the folder)"
                )
            return {
                row["path"].strip().replace("\\", "/"): {
                    k: (v or "").strip() for k, v in row.items() if k != "path"
                }
                for row in reader
                if row.get("path")
            }
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path} cannot be read as a CSV: {exc}") from exc


def groups_of(attributes: Sequence[dict[str, str]]) -> dict[str, list[str]]:
    """{column: each image's value} for the subgroup columns that some image has a value for."""
    present = [c for c in GROUPS if any(a.get(c) for a in attributes)]
    return {c: [a.get(c) or UNKNOWN for a in attributes] for c in present}


def number(text: str | None) -> float:
    """A numeric attribute (the true density, a shot number) as a float; NaN when empty or not a number."""
    try:
        return float(text or "nan")
    except ValueError:
        return float("nan")


def shot(row: dict[str, str]) -> int:
    """A manifest row's shot number: 0 (a scalp's first photo) where it gives none."""
    value = number(row.get("shot"))
    return int(value) if value == value else 0  # NaN: no shot column
