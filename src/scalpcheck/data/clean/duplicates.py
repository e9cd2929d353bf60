"""Duplicate groups (exact and near), the copy to keep, label conflicts and split leaks.

Exact copies are found by content hash; near copies among one representative per content hash, with
fingerprints.proposed_pairs and fingerprints.is_copy. Groups are the connected components of both.

Which copy stays: the most pixels, then the largest file (the least compressed), then the first path.
Two exceptions:
- copies under different labels: nobody here knows which label is right, so every copy is set aside;
- copies in different splits (train, val, test): only the kept copy stays, so the evaluation no longer
  measures memory of a training image; the others are reported as split leaks.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scalpcheck.data.catalog import Item
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
    prints = [checks[k].fingerprint for k in representatives]
    for i, j in sorted(proposed_pairs(prints)):
        if is_copy(prints[i], prints[j]):
            edges.append((representatives[i], representatives[j]))
    return _components(len(checks), edges)


def _keep_order(check: FileCheck, rel: str):
    return (-check.pixels, -check.size, rel)


def judge_groups(
    checks: list[FileCheck], items: list[Item], rel: list[str]
) -> tuple[list[DuplicateGroup], list[Finding]]:
    """The duplicate groups, and one finding for every copy that must go."""
    groups, findings = [], []
    for gid, indices in enumerate(duplicate_groups(checks), start=1):
        indices = sorted(indices, key=lambda k: _keep_order(checks[k], rel[k]))
        best = indices[0]
        labels = sorted({items[k].label for k in indices})
        identical = len({checks[k].sha256 for k in indices}) == 1
        conflict = len(labels) > 1
        kept = None if conflict else rel[best]
        members = tuple(Member(rel[k], items[k].label, items[k].split) for k in indices)
        groups.append(DuplicateGroup(gid, members, kept, identical))
        for k in indices if conflict else indices[1:]:
            kind, reason = _verdict(k, best, indices, checks, items, rel, labels)
            findings.append(Finding(kind, rel[k], reason, checks[k].sha256, gid, kept))
    return groups, findings


def _verdict(k, best, indices, checks, items, rel, labels) -> tuple[str, str]:
    same_bytes = checks[k].sha256 == checks[best].sha256
    what = "an identical copy" if same_bytes else "a near copy (re-encoded, resized or cropped)"
    if len(labels) > 1:
        others = [rel[o] for o in indices if o != k]
        return "label_conflict", (
            f"the same picture is filed under {' and '.join(labels)} (copies: {', '.join(others)}); "
            "the right label is unknown, so every copy is set aside"
        )
    if items[k].split != items[best].split:
        return "split_leak", (
            f"{what} of {rel[best]} in {items[best].split}: the same picture would be in both "
            f"{items[best].split} and {items[k].split}"
        )
    if same_bytes:
        return "exact_duplicate", f"{what} of {rel[best]}"
    return "near_duplicate", f"{what} of {rel[best]}, which is kept"
