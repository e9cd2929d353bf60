"""What a dataset folder holds: its layout, its labels, and every image file in it.

Two layouts are accepted, as collections of photos really come:
  flat      DIR/<label>/*                    (the tool splits it)
  presplit  DIR/{train,val,test}/<label>/*   (as public datasets ship; `valid`/`validation` mean val)
Label folders are matched case-insensitively, so `Alopecia/` and `alopecia/` are one label. Images below a
label folder are found at any depth (a clinic may sort them by patient). Hidden files and folders and files
at the top level (a generator's `defects.json`, a README) are not items.

Scanning never opens an image: it is cheap enough to run before every command. `scalpcheck clean` is the
place where images are decoded and judged.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scalpcheck.data.attributes import groups_of, read_attributes
from scalpcheck.errors import UsageError
from scalpcheck.tasks import TASKS, Task, custom_task

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
SPLITS = ("train", "val", "test")
# Names public datasets give their split folders, lower-cased.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
SYNTHETIC_MARKER = "phantoms.json"  # written by `scalpcheck synth`
MIN_PER_CLASS = 3  # one image each for train, validation and test


@dataclass(frozen=True)
class Item:
    path: Path  # absolute
    label: str  # lower case
    split: str | None  # "train", "val" or "test"; None in a flat layout


@dataclass
class Catalog:
    root: Path
    layout: str  # "flat" or "presplit"
    task: Task
    items: list[Item]
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # relative path -> manifest columns

    def attributes_of(self, item: Item) -> dict[str, str]:
        """The item's row of the dataset's manifest.csv (scalpcheck.data.attributes); {} when it has none."""
        return self.attributes.get(self.relative(item), {})

    def groups(self, items: Sequence[Item]) -> dict[str, list[str]]:
        """The subgroup columns the manifest gives, with each item's value: what reports group figures by."""
        return groups_of([self.attributes_of(i) for i in items])

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: n}} for a presplit layout, plus "all"; every label of the task appears."""
        groups = list(SPLITS) if self.layout == "presplit" else []
        result = {}
        for group in [*groups, "all"]:
            counter = Counter(i.label for i in self.items if group == "all" or i.split == group)
            result[group] = {label: counter.get(label, 0) for label in self.task.labels}
        return result

    @property
    def synthetic(self) -> bool:
        """True for phantom data written by `scalpcheck synth`: models trained on it must say so."""
        return (self.root / SYNTHETIC_MARKER).is_file()

    def relative(self, item: Item) -> str:
        """The item's path inside the dataset, with forward slashes (manifests, reports)."""
        return item.path.relative_to(self.root).as_posix()


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise UsageError(f"{folder} cannot be read: {exc.strerror or exc}") from exc


def _images_below(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def _label_items(folder: Path, split: str | None) -> tuple[list[Item], set[str]]:
    """Items of every label folder directly inside `folder`, and the set of labels found (even empty ones)."""
    items, labels = [], set()
    for label_dir in _visible_dirs(folder):
        label = label_dir.name.strip().lower()
        labels.add(label)
        items += [Item(path, label, split) for path in _images_below(label_dir)]
    return items, labels


def list_items(root: str | Path) -> tuple[Path, str, list[Item], dict[str | None, set[str]]]:
    """The absolute root, the layout, every image item, and the labels found per split (None when flat).

    Raises UsageError for a missing folder, a file given as the folder, a folder without label folders
    or without images, and a top level that mixes split folders with label folders.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise UsageError(f"{root}: no such folder")
    if not root.is_dir():
        raise UsageError(
            f"{root} is a file; expected a dataset folder (DIR/<label>/* or DIR/train/<label>/*)"
        )
    root = root.resolve()
    top = _visible_dirs(root)
    if not top:
        raise UsageError(
            f"{root} has no label folders; expected DIR/<label>/* or DIR/{{train,val,test}}/<label>/*"
        )
    split_dirs = [d for d in top if d.name.lower() in SPLIT_ALIASES]
    if split_dirs and len(split_dirs) < len(top):
        splits = ", ".join(d.name for d in split_dirs)
        others = ", ".join(d.name for d in top if d not in split_dirs)
        raise UsageError(f"{root} mixes split folders ({splits}) with other folders ({others})")
    labels: dict[str | None, set[str]] = {}
    items: list[Item] = []
    if split_dirs:
        layout = "presplit"
        for split_dir in split_dirs:
            split = SPLIT_ALIASES[split_dir.name.lower()]
            if split in labels:
                raise UsageError(f"{root} has two folders for the {split} split")
            found, labels[split] = _label_items(split_dir, split)
            items += found
    else:
        layout = "flat"
        items, labels[None] = _label_items(root, None)
    if not items:
        suffixes = " ".join(sorted(IMAGE_SUFFIXES))
        raise UsageError(f"{root} has no images in its label folders (looked for {suffixes})")
    items.sort(key=lambda i: (SPLITS.index(i.split) if i.split else 0, i.label, str(i.path)))
    return root, layout, items, labels


def scan(root: str | Path, task: str | None = None) -> Catalog:
    """Catalog a dataset folder; with `task` "scalp" or "hairloss" its folders must be that task's labels.

    With no task, or another name, the folder names become the labels of a custom task.
    """
    root, layout, items, labels_per_split = list_items(root)
    labels = sorted(set().union(*labels_per_split.values()))
    if task in TASKS:
        the_task = TASKS[task]
        unknown = [label for label in labels if label not in the_task.labels]
        if unknown:
            raise UsageError(
                f"{root}: folder {unknown[0]!r} is not a label of task {task} "
                f"(its labels: {', '.join(the_task.labels)})"
            )
    else:
        the_task = custom_task(task or root.name.lower(), labels)
    if layout == "presplit":
        _check_splits(root, items)
    return Catalog(root=root, layout=layout, task=the_task, items=items, attributes=read_attributes(root))


def _check_splits(root: Path, items: list[Item]) -> None:
    """A pre-split dataset needs train data, and every label present in the data in each of its splits."""
    present = {i.split for i in items}
    if "train" not in present:
        raise UsageError(f"{root}: a pre-split dataset needs a train folder with images")
    labels = sorted({i.label for i in items})
    for split in (s for s in SPLITS if s in present):
        have = {i.label for i in items if i.split == split}
        missing = [label for label in labels if label not in have]
        if missing:
            raise UsageError(f"{root}: the {split} split has no images of {', '.join(missing)}")


def require_trainable(catalog: Catalog, min_per_class: int = MIN_PER_CLASS) -> None:
    """Refuse data a model cannot be trained and tested on: one class only, or a class with too few images."""
    counts = catalog.counts()["all"]
    with_images = [label for label, n in counts.items() if n > 0]
    if len(with_images) < 2:
        only = with_images[0] if with_images else "none"
        raise UsageError(f"{catalog.root} has one class only ({only}); a classifier needs at least two")
    for label, n in counts.items():
        if n < min_per_class:
            raise UsageError(
                f"{catalog.root}: class {label} has {n} image{'s' * (n != 1)}; "
                f"at least {min_per_class} are needed to train, validate and test"
            )


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fingerprint(catalog: Catalog) -> str:
    """A digest of what the data are: the same files with the same labels and splits give the same value.

    Content hashes, not modification times, so a copy of the dataset elsewhere has the same fingerprint.
    """
    digest = hashlib.sha256()
    for rel, label, split, sha in sorted(
        (catalog.relative(i), i.label, i.split or "", file_sha256(i.path)) for i in catalog.items
    ):
        digest.update(f"{rel}\0{label}\0{split}\0{sha}\n".encode())
    return digest.hexdigest()


def write_manifest(catalog: Catalog, path: str | Path) -> None:
    """CSV with one row per image: path (relative to the root), label, split, bytes, sha256."""
    rows = [
        (catalog.relative(i), i.label, i.split or "", i.path.stat().st_size, file_sha256(i.path))
        for i in catalog.items
    ]
    write_csv_atomic(path, ("path", "label", "split", "bytes", "sha256"), rows)


def write_csv_atomic(path: str | Path, header: tuple[str, ...], rows) -> None:
    """Write a CSV to a temporary file beside `path` and rename it: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def summary(catalog: Catalog) -> str:
    """A table of image counts per label (rows) and split (columns), with totals."""
    counts = catalog.counts()
    columns = [s for s in SPLITS if s in counts] + ["all"]
    header = ["label", *("total" if c == "all" else c for c in columns)]
    body = [[label, *(str(counts[c][label]) for c in columns)] for label in catalog.task.labels]
    body.append(["total", *(str(sum(counts[c].values())) for c in columns)])
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]

    def line(cells):
        return "  ".join(
            cell.ljust(w) if k == 0 else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    title = f"{catalog.root} ({catalog.layout}, task {catalog.task.name}, {len(catalog.task.labels)} classes)"
    return "\n".join([title, line(header), *(line(r) for r in body)])
