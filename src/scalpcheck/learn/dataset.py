"""A dataset made ready for training: catalogued, checked, split, every image proven readable.

Everything that can be wrong with the user's input is found here, before anything is written: a missing
folder, one class, a class too small to split, files that are not images. The run folder is created only
after this succeeds, so a refused command leaves the disk as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from scalpcheck.card import DataInfo
from scalpcheck.data.attributes import number
from scalpcheck.data.catalog import Catalog, Item, fingerprint, require_trainable, scan
from scalpcheck.data.split import repeated_kfold, scalp_key, stratified_split
from scalpcheck.errors import UsageError

SPLIT_FRACTIONS = (0.7, 0.2, 0.1)
CV_REPEATS = 3


@dataclass
class PreparedData:
    catalog: Catalog
    fingerprint: str
    items: list[Item]  # catalog order; every index below points into this list
    y: np.ndarray  # label index of each item, in the task's label order
    split: dict[str, list[int]]  # "train", "val", "test" -> item indices
    folds: list[
        tuple[list[int], list[int]]
    ]  # cross-validation over train+val: (fit, held out); [] without --cv
    cv_k: int = 0

    @property
    def labels(self) -> tuple[str, ...]:
        return self.catalog.task.labels

    @property
    def synthetic(self) -> bool:
        return self.catalog.synthetic

    def split_items(self) -> dict[str, list[Item]]:
        return {name: [self.items[i] for i in idx] for name, idx in self.split.items()}

    @property
    def density(self) -> np.ndarray:
        """Each item's true hair density from the manifest (0..1), NaN where it gives none: [N] float32."""
        return np.asarray(
            [number(self.catalog.attributes_of(item).get("density")) for item in self.items], dtype=np.float32
        )

    def groups(self, indices: Sequence[int]) -> dict[str, list[str]]:
        """The subgroups (skin tone, style, ...) the dataset's manifest gives these items, for the reports."""
        return self.catalog.groups([self.items[i] for i in indices])

    def summary(self) -> DataInfo:
        """Counts per split and label, the fingerprint and the synthetic mark: the card's `data` entry."""
        counts = {
            name: {label: int((self.y[idx] == k).sum()) for k, label in enumerate(self.labels)}
            for name, idx in self.split.items()
        }
        return DataInfo(
            root=str(self.catalog.root),
            layout=self.catalog.layout,
            fingerprint=self.fingerprint,
            n_images=len(self.items),
            counts={label: sum(c[label] for c in counts.values()) for label in self.labels},
            split_counts=counts,
            synthetic=self.synthetic,
        )


def _unreadable(path: Path) -> str | None:
    """Why the file cannot be decoded, or None. JPEGs decode at reduced scale (draft): enough to find
    truncated and corrupt files at a fraction of the cost."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (64, 64))
            img.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad files; all mean "unreadable"
        return str(exc) or type(exc).__name__
    return None


def check_readable(items: list[Item], root: Path, progress: bool) -> None:
    bad = []
    for item in tqdm(items, desc="checking images", unit="img", disable=not progress, leave=False):
        reason = _unreadable(item.path)
        if reason:
            bad.append((item.path.relative_to(root).as_posix(), reason))
    if bad:
        first, reason = bad[0]
        raise UsageError(
            f"{len(bad)} file{'s' * (len(bad) != 1)} in {root} cannot be read as images (first: {first}: "
            f"{reason}); run `scalpcheck clean {root} --apply` to quarantine them"
        )


def prepare(data: Path, task: str, seed: int, cv: int = 0, progress: bool = False) -> PreparedData:
    catalog = scan(data, task)
    require_trainable(catalog)
    splits = stratified_split(catalog, SPLIT_FRACTIONS, seed=seed)
    position = {item.path: k for k, item in enumerate(catalog.items)}
    split = {name: [position[i.path] for i in members] for name, members in splits.items()}
    folds = []
    if cv:
        pool = splits["train"] + splits["val"]
        folds = [
            ([position[i.path] for i in fit], [position[i.path] for i in held_out])
            for fit, held_out in repeated_kfold(pool, cv, CV_REPEATS, seed, scalp_key(catalog))
        ]
    check_readable(catalog.items, catalog.root, progress)
    y = np.array([catalog.task.labels.index(i.label) for i in catalog.items], dtype=np.int64)
    return PreparedData(catalog, fingerprint(catalog), list(catalog.items), y, split, folds, cv)
