"""Benchmarks: `make bench` (python -m bench) runs every bench_*.py module here.

Each module has `run(ctx) -> list[Row]`; a row is one measured figure side by side with its baseline
measured in the same run. Use `row(...)` to build one so the ratio and pass mark are computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    group: str  # the benchmark module
    name: str
    measured: float
    unit: str
    baseline_name: str
    baseline: float | None
    ratio: float | None  # how many times better than the baseline (>1 is better)
    target: str | None
    passed: bool | None  # None: no target


def row(
    group,
    name,
    measured,
    unit,
    *,
    baseline=None,
    baseline_name="",
    higher_is_better=True,
    target=None,
    target_ratio=None,
):
    """One result row; `ratio` is always "how many times better than the baseline" (>1 is better).

    `target` bounds the measured figure, `target_ratio` the ratio; a row with both passes when both hold.
    """
    ratio = None
    if baseline:
        ratio = measured / baseline if higher_is_better else baseline / measured
    checks, texts = [], []
    if target is not None:
        checks.append(measured >= target if higher_is_better else measured <= target)
        texts.append(f"{'>=' if higher_is_better else '<='} {target}")
    if target_ratio is not None:
        checks.append(ratio is not None and ratio >= target_ratio)
        texts.append(f">= {target_ratio:g}x better")
    return Row(
        group=group,
        name=name,
        measured=measured,
        unit=unit,
        baseline_name=baseline_name,
        baseline=baseline,
        ratio=ratio,
        target=" and ".join(texts) or None,
        passed=all(checks) if checks else None,
    )
