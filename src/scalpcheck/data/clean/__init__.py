"""`scalpcheck clean`: find what is wrong with a photo collection, and set it aside without losing it.

find_problems reads and never writes; apply_quarantine moves the offenders beside the dataset with a log.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from scalpcheck.data.catalog import list_items
from scalpcheck.data.clean.checks import check_file
from scalpcheck.data.clean.duplicates import judge_groups
from scalpcheck.data.clean.quarantine import apply_quarantine
from scalpcheck.data.clean.report import KINDS, CleanReport, DuplicateGroup, Finding

__all__ = ["KINDS", "CleanReport", "DuplicateGroup", "Finding", "apply_quarantine", "find_problems"]


def find_problems(root: str | Path, progress: bool = True) -> CleanReport:
    """Judge every image of a dataset folder (flat or pre-split); UsageError for a folder that is not one."""
    root, layout, items, _ = list_items(root)
    rel = [item.path.relative_to(root).as_posix() for item in items]
    checks = [
        check_file(item.path)
        for item in tqdm(items, desc="checking images", unit="img", disable=not progress, leave=False)
    ]
    findings = [
        Finding(c.problem[0], path, c.problem[1], c.sha256)
        for c, path in zip(checks, rel, strict=True)
        if c.problem
    ]
    groups, duplicates = judge_groups(checks, items, rel)
    findings += duplicates
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.path))
    return CleanReport(root=root, layout=layout, n_files=len(items), findings=findings, groups=groups)
