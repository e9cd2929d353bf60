"""Train / validation / test splits and repeated stratified K-fold, seeded and written as manifests.

The split is stratified per class rather than drawn over the whole dataset: with 50 images a class, a
10 % test split is 5 images a class, and a global shuffle can leave a class with 3 test images or none.
Dividing each class separately gives every class its share in every split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scalpcheck.data.catalog import SPLITS, Catalog, Item, write_csv_atomic
from scalpcheck.errors import UsageError


def _check_fractions(fractions) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise UsageError(f"split fractions must be three positive numbers that add up to 1, got {fractions}")
    train, val, test = (float(f) for f in fractions)
    return train, val, test


def _by_label(items: list[Item]) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda i: str(i.path)):
        groups[item.label].append(item)
    return dict(sorted(groups.items()))


def _divide(
    items: list[Item], fractions: tuple[float, ...], rng: np.random.Generator, scalp_of: Callable[[Item], str]
) -> list[list[Item]]:
    """Each class shuffled and cut into len(fractions) parts, every part holding at least one scalp.

    The unit is the scalp (`scalp_of`): its photos (re-shoots, several views) go to one part together, or a
    photo of it in the test split would be recognised rather than assessed. An image with no scalp id is
    its own scalp, so a dataset without them splits exactly as it would image by image.
    """
    parts: list[list[Item]] = [[] for _ in fractions]
    for label, members in _by_label(items).items():
        scalps: dict[str, list[Item]] = {}
        for item in members:  # in path order: a scalp's place is that of its first photo
            scalps.setdefault(scalp_of(item), []).append(item)
        units = list(scalps.values())
        n = len(units)
        count = f"{len(members)} image{'s' * (len(members) != 1)}"
        if n < len(members):
            count += f" of {n} scalp{'s' * (n != 1)}"
        if n < len(fractions):
            raise UsageError(
                f"class {label} has {count}; at least {len(fractions)} "
                f"{'scalps' if n < len(members) else 'are'} needed so that every split has one"
            )
        # The smaller parts are rounded first and get at least one scalp; the first part takes the rest.
        sizes = [max(1, round(n * f)) for f in fractions[1:]]
        sizes.insert(0, n - sum(sizes))
        if sizes[0] < 1:
            raise UsageError(
                f"class {label} has too few images ({count}) for the split fractions {fractions}"
            )
        order = rng.permutation(n)
        start = 0
        for part, size in zip(parts, sizes, strict=True):
            part += [item for k in order[start : start + size] for item in units[k]]
            start += size
    return [sorted(p, key=lambda i: str(i.path)) for p in parts]


def scalp_key(catalog: Catalog) -> Callable[[Item], str]:
    """Each item's scalp: the manifest's scalp_id where it gives one, else the image itself."""

    def scalp_of(item: Item) -> str:
        return catalog.attributes_of(item).get("scalp_id") or f"image:{item.path}"

    return scalp_of


def stratified_split(catalog: Catalog, fractions=(0.7, 0.2, 0.1), seed: int = 0) -> dict[str, list[Item]]:
    """{"train", "val", "test"} lists of items; every class is in every split, every scalp in one.

    A pre-split dataset keeps its own splits; a split it lacks (many ship train and test only) is carved out
    of its train split, stratified, in proportion to `fractions`.
    """
    fractions = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    scalp_of = scalp_key(catalog)
    if catalog.layout == "flat":
        return dict(zip(SPLITS, _divide(catalog.items, fractions, rng, scalp_of), strict=True))
    given = {s: [i for i in catalog.items if i.split == s] for s in SPLITS}
    missing = [s for s in SPLITS if not given[s]]
    if missing:
        wanted = [fractions[0]] + [fractions[SPLITS.index(s)] for s in missing]
        parts = _divide(given["train"], tuple(f / sum(wanted) for f in wanted), rng, scalp_of)
        given["train"] = parts[0]
        given.update(zip(missing, parts[1:], strict=True))
    return given


def repeated_kfold(
    items: list[Item], k: int, repeats: int, seed: int, scalp_of: Callable[[Item], str] | None = None
) -> list[tuple[list[Item], list[Item]]]:
    """(train, held-out) pairs of repeated stratified K-fold, repeat by repeat, fold by fold.

    For small data a single 10 % test split is a handful of images a class; the spread over K x repeats
    held-out folds gives the confidence interval that one split cannot.
    """
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    if k < 2 or repeats < 1:
        raise UsageError(
            f"cross-validation needs at least 2 folds and 1 repeat, got {k} folds, {repeats} repeats"
        )
    items = sorted(items, key=lambda i: str(i.path))
    for label, members in _by_label(items).items():
        if len(members) < k:
            raise UsageError(
                f"class {label} has {len(members)} images, fewer than the {k} cross-validation folds"
            )
    labels = [i.label for i in items]
    scalps = [scalp_of(i) for i in items] if scalp_of else None
    if scalps is None or len(set(scalps)) == len(items):
        splits = list(
            RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed).split(
                np.zeros(len(items)), labels
            )
        )
    else:  # the photos of one scalp are held out together
        splits = [
            fold
            for r in range(repeats)
            for fold in StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed + r).split(
                np.zeros(len(items)), labels, scalps
            )
        ]
    return [([items[j] for j in train], [items[j] for j in held_out]) for train, held_out in splits]


def _relative(item: Item, root: Path) -> str:
    return item.path.relative_to(root).as_posix()


def write_split_csv(splits: dict[str, list[Item]], root: Path, path: Path) -> None:
    """The split manifest: path (relative to `root`), label, split; one row per image."""
    root = Path(root).resolve()
    rows = [(_relative(i, root), i.label, name) for name, items in splits.items() for i in items]
    write_csv_atomic(path, ("path", "label", "split"), rows)


def write_folds_csv(folds: list[tuple[list[Item], list[Item]]], k: int, root: Path, path: Path) -> None:
    """The K-fold manifest: path, label, repeat, fold; each image appears once per repeat, with the fold
    that holds it out (the folds of `repeated_kfold`, in its order)."""
    root = Path(root).resolve()
    rows = sorted(
        (
            (_relative(i, root), i.label, n // k, n % k)
            for n, (_, held_out) in enumerate(folds)
            for i in held_out
        ),
        key=lambda row: (row[2], row[3], row[0]),
    )
    write_csv_atomic(path, ("path", "label", "repeat", "fold"), rows)
