"""A phantom dataset on disk: DIR/<label>/<label>_<i:04d>.jpg, manifest.csv, phantoms.json and, on request,
defects.

The folder appears whole or not at all: everything is written into a hidden temporary folder beside
the target, which is renamed into place at the end (and removed if anything fails on the way).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

from tqdm import tqdm

from scalpcheck import __version__
from scalpcheck.data.synth import defects as defect_faults
from scalpcheck.data.synth import manifest
from scalpcheck.data.synth.render import MAX_SIZE, MIN_SIZE, photograph
from scalpcheck.data.synth.seeds import image_rng
from scalpcheck.data.synth.styles import DEFAULT_STYLE, parse
from scalpcheck.errors import UsageError
from scalpcheck.tasks import TASKS

MARKER = "phantoms.json"  # tells training (and its reports) that the data are synthetic
DEFECTS = "defects.json"
MAX_PER_CLASS = 20000
MAX_SEED = 2**32 - 1
MAX_SHOTS = 4


def image_name(label: str, index: int, shot: int = 0) -> str:
    """label_0007.jpg for a scalp's first photo; label_0007_shot1.jpg for its re-shoot number 1."""
    return f"{label}_{index:04d}.jpg" if shot == 0 else f"{label}_{index:04d}_shot{shot}.jpg"


def check_arguments(
    task: str, seed: int, size: int, per_class: int | None = None, style: str = DEFAULT_STYLE, shots: int = 1
) -> None:
    """UsageError, naming the argument, for anything write_dataset or write_preview cannot honour."""
    try:
        parse(style)
    except ValueError as exc:
        raise UsageError(f"--style: {exc}") from None
    if task not in TASKS:
        raise UsageError(f"--task: unknown task {task!r}; choose from {', '.join(TASKS)}")
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer from 0 to {MAX_SEED}, got {seed}")
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} px, got {size}")
    if per_class is not None and (not isinstance(per_class, int) or not 1 <= per_class <= MAX_PER_CLASS):
        raise UsageError(f"--per-class must be between 1 and {MAX_PER_CLASS}, got {per_class}")
    if not isinstance(shots, int) or not 1 <= shots <= MAX_SHOTS:
        raise UsageError(f"--shots must be between 1 and {MAX_SHOTS}, got {shots}")


def check_target(out: Path) -> None:
    if out.is_file() or (out.exists() and not out.is_dir()):
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} exists and is not empty; choose a new folder")


def write_dataset(
    task: str,
    per_class: int,
    seed: int,
    out: Path,
    size: int = 256,
    defects: bool = False,
    progress: bool = True,
    style: str = DEFAULT_STYLE,
    shots: int = 1,
) -> dict:
    """Render per_class phantoms of every label of task into out; returns a summary.

    style: one of styles.STYLE_NAMES, `mix` (each image's style drawn from the training styles) or a
    comma list of names (drawn from just those). Same arguments, same bytes.
    shots > 1 photographs every scalp again (re-shoots: new framing, light, focus, noise and compression,
    the same hair and lesions); they share the manifest's scalp_id, and the first shots are the same
    images as with shots=1.
    Every clean image has its row in out/manifest.csv. With defects, also plants every fault kind of
    defects.py and lists them in out/defects.json (the clean images are the same as without; planted
    files have no manifest row). Bad arguments, or an out that is a file or a folder with something in
    it, raise UsageError before anything is written.
    """
    out = Path(out)
    check_arguments(task, seed, size, per_class, style, shots)
    labels = TASKS[task].labels
    if defects and per_class < defect_faults.originals_needed(len(labels)):
        need = defect_faults.originals_needed(len(labels))
        raise UsageError(
            f"--defects needs --per-class of at least {need} for task {task} (copies need originals)"
        )
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.partial"
    tmp.mkdir()  # unlike mkdtemp's 0700, the umask's permissions, which the dataset keeps
    try:
        with tqdm(
            total=per_class * len(labels) * shots, desc=f"synth {task}", unit="img", disable=not progress
        ) as bar:
            rows = []
            for label in labels:
                (tmp / label).mkdir()
                for i in range(per_class):
                    for shot in range(shots):
                        photo = photograph(task, label, image_rng(seed, task, label, i), size, style, shot)
                        (tmp / label / image_name(label, i, shot)).write_bytes(photo.jpeg())
                        rows.append(manifest.record(photo, f"{label}/{image_name(label, i, shot)}", shot))
                        bar.update()
        (tmp / manifest.NAME).write_text(manifest.to_csv(rows))
        faults = defect_faults.plant(tmp, task, labels, seed, size, per_class, style) if defects else []
        if defects:
            listing = {"task": task, "seed": seed, "faults": faults}
            (tmp / DEFECTS).write_text(json.dumps(listing, indent=2) + "\n")
        marker = {
            "generator": "scalpcheck synth",
            "scalpcheck_version": __version__,
            "task": task,
            "seed": seed,
            "per_class": per_class,
            "size": size,
            "style": style,
            "defects": defects,
            "shots": shots,
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        check_target(out)  # nothing appeared there while we rendered
        if out.is_dir():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts: dict[str, int] = {}
    for fault in faults:
        counts[fault["kind"]] = counts.get(fault["kind"], 0) + 1
    return {
        "task": task,
        "seed": seed,
        "size": size,
        "style": style,
        "out": str(out),
        "counts": {label: per_class * shots for label in labels},
        "faults": counts,
        "seconds": round(time.perf_counter() - started, 2),
    }
