"""Duplicate groups (exact and near), the copy to keep, label conflicts and split leaks.

Exact copies are found by content hash; near copies among one representative per content hash, with
fingerprints.proposed_pairs and fingerprints.is_copy. Groups are the connected components of both.

Which copy stays: the most pixels, then the largest file (the least compressed), then the one in the
earliest split (train, val, test: an evaluation split gives up its copy rather than training), then the
first path. Two exceptions:
- copies under different labels: nobody here knows which label is right, so every copy is set aside;
- copies in different splits (train, val, test): only the kept copy stays, so the evaluation no longer
  measures memory of a training image; the others are reported as split leaks.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scalpcheck.data.catalog import SPLITS, Item
from scalpcheck.data.clean.checks import FileCheck
from scalpcheck.data.clean.fingerprints import is_copy, proposed_pairs
from scalpcheck.data.clean.report import DuplicateGroup, Finding, Member


def _components(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Groups of two or more indices joined by edges."""
    if not edges:
        return []
    a, b = np.array(edges).T
    graph = coo_matrix((np.ones(len(edges)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    members = defaultdict(list)
    for index, component in enumerate(labels):
        members[component].append(index)
    return sorted((m for m in members.values() if len(m) > 1), key=lambda m: m[0])


def duplicate_groups(checks: list[FileCheck]) -> list[list[int]]:
    """Indices into `checks` of each group of copies; only usable files (with a fingerprint) take part."""
    usable = [k for k, c in enumerate(checks) if c.fingerprint is not None]
    first_of_content: dict[str, int] = {}
    edges = []
    for k in usable:
        first = first_of_content.setdefault(checks[k].sha256, k)
        if first != k:
            edges.append((first, k))
    representatives = list(first_of_content.values())
    prints = [p for k in representatives if (p := checks[k].fingerprint) is not None]
    for i, j in sorted(proposed_pairs(prints)):
        if is_copy(prints[i], prints[j]):
            edges.append((representatives[i], representatives[j]))
    return _components(len(checks), edges)


def _keep_order(check: FileCheck, item: Item, rel: str):
    return (-check.pixels, -check.size, SPLITS.index(item.split) if item.split else 0, rel)


def judge_groups(
    checks: list[FileCheck], items: list[Item], rel: list[str]
) -> tuple[list[DuplicateGroup], list[Finding]]:
    """The duplicate groups, and one finding for every copy that must go."""
    groups, findings = [], []
    for gid, indices in enumerate(duplicate_groups(checks), start=1):
        indices = sorted(indices, key=lambda k: _keep_order(checks[k], items[k], rel[k]))
        best = indices[0]
        labels = sorted({items[k].label for k in indices})
        members = tuple(Member(rel[k], items[k].label, items[k].split) for k in indices)
        identical = len({checks[k].sha256 for k in indices}) == 1
        if len(labels) > 1:
            groups.append(DuplicateGroup(gid, members, None, identical))
            for k in indices:
                others = ", ".join(rel[o] for o in indices if o != k)
                reason = (
                    f"the same picture is filed under {' and '.join(labels)} (copies: {others}); "
                    "which label is right is unknown, so every copy is set aside"
                )
                findings.append(Finding("label_conflict", rel[k], reason, checks[k].sha256, gid, None))
            continue
        groups.append(DuplicateGroup(gid, members, rel[best], identical))
        for k in indices[1:]:
            kind, reason = _copy_verdict(checks[k], items[k], checks[best], items[best], rel[best])
            findings.append(Finding(kind, rel[k], reason, checks[k].sha256, gid, rel[best]))
    return groups, findings


def _copy_verdict(copy: FileCheck, item: Item, kept: FileCheck, kept_item: Item, kept_rel: str):
    exact = copy.sha256 == kept.sha256
    if exact:
        what = "an identical copy"
    elif copy.pixels == kept.pixels:
        what = "a re-encoded copy"
    else:
        what = "a smaller (resized or cropped) copy"
    if item.split != kept_item.split:
        return "split_leak", (
            f"{what} of {kept_rel}, which is kept: the same picture would be in both "
            f"{kept_item.split} and {item.split}"
        )
    return ("exact_duplicate" if exact else "near_duplicate"), f"{what} of {kept_rel}, which is kept"
