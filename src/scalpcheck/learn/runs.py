"""Numbered run folders (runs/<task>/trainN, the next free N, as Ultralytics numbers them) and the atomic
writes that fill them: a reader never finds half a file in a run folder."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from scalpcheck.data.catalog import write_csv_atomic

RUN_PREFIX = "train"


def next_run_dir(runs_dir: Path, task: str) -> Path:
    """Create and return runs_dir/<task>/trainN for the next free N; two runs started together get two
    different folders (mkdir either creates the folder or fails)."""
    base = Path(runs_dir) / task
    base.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"{RUN_PREFIX}(\d+)$")
    taken = [int(m.group(1)) for p in base.iterdir() if (m := pattern.match(p.name))]
    n = max(taken, default=0) + 1
    while True:
        run_dir = base / f"{RUN_PREFIX}{n}"
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            n += 1


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(data, indent=2, default=_plain) + "\n")


def write_yaml(path: Path, data) -> None:
    write_text(path, yaml.safe_dump(json.loads(json.dumps(data, default=_plain)), sort_keys=False))


def write_rows(path: Path, rows: list[dict]) -> None:
    """A CSV whose columns are the union of the rows' keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    write_csv_atomic(path, tuple(columns), ([_cell(row.get(c)) for c in columns] for row in rows))


def _cell(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def _plain(value):
    """JSON for the values runs record: paths as text, numpy scalars as numbers."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot record {type(value).__name__} in a run file")
