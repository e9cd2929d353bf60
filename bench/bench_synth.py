"""Phantom generation speed: images per second that `scalpcheck synth` writes at 256 px on one core,
for every task and every rendering style, the held-out dermoscope style included.

Measured end to end (render, JPEG, manifest, write) with write_dataset, single process and OpenCV held
to one thread. The baseline, measured in the same run, is the same rendering without its main
optimisation: hair drawn the obvious way, with OpenCV's anti-aliased lines on a canvas twice the size,
instead of plain lines on a canvas three times the size averaged down (see synth/canvas.py).
"""

from __future__ import annotations

import contextlib
import time
from unittest import mock

import cv2

from bench import Row, row

TARGET = 20  # images a second on one core, in every style


def _images_per_second(task: str, style: str, per_class: int, out) -> float:
    from scalpcheck.data.synth import write_dataset

    start = time.perf_counter()
    summary = write_dataset(task, per_class=per_class, seed=0, out=out, progress=False, style=style)
    return sum(summary["counts"].values()) / (time.perf_counter() - start)


@contextlib.contextmanager
def _anti_aliased_lines():
    from scalpcheck.data.synth import strands
    from scalpcheck.data.synth.canvas import Canvas

    with (
        mock.patch.object(Canvas, "supersample", property(lambda self: 2)),
        mock.patch.object(strands, "LINE", cv2.LINE_AA),
        mock.patch.object(strands, "THINNEST_LINE", 1.3),  # what an anti-aliased line of thickness 1 covers
    ):
        yield


def run(ctx) -> list[Row]:
    from scalpcheck.data.synth.styles import STYLE_NAMES
    from scalpcheck.tasks import TASKS

    per_class = 5 if ctx.quick else 25
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    rows = []
    try:
        for task in TASKS:
            for style in STYLE_NAMES:
                work = ctx.workdir / f"{task}-{style}"
                _images_per_second(task, style, 1, work / "warm")  # imports, first allocations
                fast = _images_per_second(task, style, per_class, work / "fast")
                with _anti_aliased_lines():
                    slow = _images_per_second(task, style, per_class, work / "anti-aliased")
                rows.append(
                    row(
                        "synth",
                        f"{task}, {style} style: phantoms written at 256 px, one core",
                        fast,
                        "img/s",
                        baseline=slow,
                        baseline_name="anti-aliased lines at 2x",
                        target=TARGET,
                    )
                )
    finally:
        cv2.setNumThreads(threads)
    return rows
