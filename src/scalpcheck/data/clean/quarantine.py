"""`clean --apply`: move offenders into a quarantine folder beside the dataset, with a log. Never delete.

DIR.quarantine/<UTC time>/ mirrors the dataset's relative paths, so putting a file back is one move,
and holds quarantine.csv (path, kind, reason, kept copy, sha256: one row per moved file, exactly the
files moved, even when a move fails half-way) and report.json (the whole report that led to it).
Before anything moves, every offender is checked to be the very file that was judged (same content
hash): a dataset edited between the report and --apply gets an error, not a wrong move.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from scalpcheck.data.catalog import file_sha256, write_csv_atomic
from scalpcheck.data.clean.report import CleanReport
from scalpcheck.errors import UsageError

LOG_NAME = "quarantine.csv"
REPORT_NAME = "report.json"


def quarantine_root(dataset: Path) -> Path:
    return dataset.parent / f"{dataset.name}.quarantine"


def _new_folder(base: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for attempt in range(1, 1000):
        folder = base / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"{base}: cannot make a new quarantine folder")


def _check_unchanged(report: CleanReport) -> None:
    for finding in report.findings:
        path = report.root / finding.path
        if not (path.is_file() or path.is_symlink()):
            raise UsageError(f"{path} is gone since the report was made; run scalpcheck clean again")
        if finding.sha256 and file_sha256(path) != finding.sha256:
            raise UsageError(f"{path} changed since the report was made; run scalpcheck clean again")


def apply_quarantine(report: CleanReport) -> Path | None:
    """Move every offender of `report`; returns the quarantine folder, or None when nothing had to move."""
    if not report.findings:
        return None
    _check_unchanged(report)
    try:
        folder = _new_folder(quarantine_root(report.root))
    except OSError as exc:
        raise UsageError(f"cannot make a quarantine folder beside {report.root}: {exc.strerror}") from exc
    moved = []
    try:
        for finding in report.findings:
            target = folder / finding.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(report.root / finding.path, target)
            moved.append((finding.path, finding.kind, finding.reason, finding.kept or "", finding.sha256))
    except OSError as exc:
        raise UsageError(
            f"moved {len(moved)} of {len(report.findings)} files to {folder}, then failed on "
            f"{finding.path}: {exc.strerror or exc}; {folder / LOG_NAME} lists the moved ones"
        ) from exc
    finally:
        write_csv_atomic(folder / LOG_NAME, ("path", "kind", "reason", "kept", "sha256"), moved)
        _write_json(folder / REPORT_NAME, report.to_dict())
    return folder


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
