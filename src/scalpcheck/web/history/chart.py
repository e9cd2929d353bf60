"""The trend chart of one task's assessments, laid out here and drawn as SVG by the template.

Server-side SVG needs no script (the CSP allows none inline) and reads well to screen readers with its
title and description; the table beside it carries the same data. The vertical axis is the class: for an
ordinal task the stages in order with a line through the points; for the scalp condition one row per
condition, "healthy" at the bottom, points only. A point's opacity is its confidence, and a
low-confidence result is drawn hollow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scalpcheck.tasks import Task, short_name
from scalpcheck.web.trend import HEALTHY

# In SVG user units; the chart scales to its container, so a phone shows it at about 0.7x.
WIDTH = 480
ROW_HEIGHT = 34
LEFT, RIGHT, TOP, BOTTOM = 92, 20, 16, 36


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    opacity: float
    hollow: bool
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    rows: list[tuple[float, str]]  # (y, label) of each horizontal grid line
    ticks: list[tuple[float, str]]  # (x, date) along the bottom
    points: list[Point]
    line: str  # SVG polyline points, "" when the classes have no order
    title: str
    description: str


def build_chart(task: Task, assessments: Sequence) -> Chart:
    """`assessments`: rows (created_at, label, confidence), oldest first."""
    ordinal, labels = task.ordinal, task.labels
    order = list(labels) if ordinal else sorted(labels, key=lambda label: label != HEALTHY)
    for row in assessments:  # a label the current model no longer has still gets its row
        if row.label not in order:
            order.append(row.label)
    height = TOP + BOTTOM + ROW_HEIGHT * max(len(order) - 1, 1)
    row_y = {label: height - BOTTOM - i * ROW_HEIGHT for i, label in enumerate(order)}
    xs = _x_positions([row.created_at for row in assessments], LEFT + 8, WIDTH - RIGHT - 8)
    points = [
        Point(
            x=x,
            y=row_y[row.label],
            opacity=round(0.35 + 0.65 * float(row.confidence), 2),
            hollow=bool(row.low_confidence),
            title=(
                f"{row.created_at:%d %b %Y %H:%M}: {short_name(row.label)}, {row.confidence:.0%} confidence"
            ),
        )
        for row, x in zip(assessments, xs, strict=True)
    ]
    return Chart(
        width=WIDTH,
        height=height,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        rows=[(y, short_name(label)) for label, y in row_y.items()],
        ticks=_ticks(assessments, xs),
        points=points,
        line=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points) if ordinal and len(points) > 1 else "",
        title=f"{task.title} over time",
        description=_describe(assessments),
    )


def _x_positions(times: list[datetime], left: float, right: float) -> list[float]:
    """x of each time: proportional to time, or evenly spread when they all fall within a minute."""
    if len(times) < 2:
        return [(left + right) / 2] * len(times)
    start = times[0]
    span = (times[-1] - start).total_seconds()
    if span < 60:
        step = (right - left) / (len(times) - 1)
        return [left + i * step for i in range(len(times))]
    return [left + (t - start).total_seconds() / span * (right - left) for t in times]


def _ticks(assessments: Sequence, xs: list[float]) -> list[tuple[float, str]]:
    """The first and last dates under the axis (one date when all fall on the same day)."""
    if not assessments:
        return []
    first, last = assessments[0].created_at, assessments[-1].created_at
    fmt = "%d %b %Y" if first.year != last.year else "%d %b"
    if first.date() == last.date():
        return [(xs[0] if len(xs) == 1 else (xs[0] + xs[-1]) / 2, f"{first:{fmt}}")]
    return [(xs[0], f"{first:{fmt}}"), (xs[-1], f"{last:{fmt}}")]


def _describe(assessments: Sequence) -> str:
    if not assessments:
        return "No assessments yet."
    first, last = assessments[0], assessments[-1]
    count = f"{len(assessments)} assessment{'s' if len(assessments) != 1 else ''}"
    return (
        f"{count} from {first.created_at:%d %b %Y} to {last.created_at:%d %b %Y}; "
        f"the latest: {short_name(last.label)}, {last.confidence:.0%} confidence."
    )
