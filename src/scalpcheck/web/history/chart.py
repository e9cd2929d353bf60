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

from scalpcheck.tasks import Task, short_name
from scalpcheck.web.trend import label_order, x_positions

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
    band: str = ""  # SVG polygon points of the density's 90 % interval
    shades: tuple[Shade, ...] = ()  # the stage read at each point, behind the density


@dataclass(frozen=True)
class Shade:
    x: float
    width: float
    opacity: float
    title: str


def build_chart(task: Task, assessments: Sequence) -> Chart:
    """`assessments`: rows or entries (created_at, label, confidence, reading), oldest first.

    Hair density, where the readings have it, is drawn on a 0 to 100 % axis with its interval band and
    the stage behind each point; otherwise the vertical axis is the class.
    """
    measured = [row for row in assessments if getattr(row, "reading", None) is not None]
    if measured and task.ordinal:
        return _density_chart(task, measured)
    ordinal = task.ordinal
    order = label_order(task, [row.label for row in assessments])
    height = TOP + BOTTOM + ROW_HEIGHT * max(len(order) - 1, 1)
    row_y = {label: height - BOTTOM - i * ROW_HEIGHT for i, label in enumerate(order)}
    xs = x_positions([row.created_at for row in assessments], LEFT + 8, WIDTH - RIGHT - 8)
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


DENSITY_HEIGHT = TOP + BOTTOM + 4 * ROW_HEIGHT


def _density_chart(task: Task, rows: Sequence) -> Chart:
    height = DENSITY_HEIGHT
    plot = height - TOP - BOTTOM

    def y(share: float) -> float:
        return height - BOTTOM - share * plot

    xs = x_positions([row.created_at for row in rows], LEFT + 8, WIDTH - RIGHT - 8)
    points = [
        Point(
            x=x,
            y=y(row.reading.estimate),
            opacity=1.0,
            hollow=bool(row.low_confidence),
            title=(
                f"{row.created_at:%d %b %Y %H:%M}: hair density {row.reading.estimate:.0%} "
                f"({row.reading.low:.0%} to {row.reading.high:.0%}); {short_name(row.label)}"
            ),
        )
        for row, x in zip(rows, xs, strict=True)
    ]
    edges = [LEFT, *[(a + b) / 2 for a, b in zip(xs, xs[1:], strict=False)], WIDTH - RIGHT]
    shades = tuple(
        Shade(
            x=edges[i],
            width=edges[i + 1] - edges[i],
            opacity=round(0.04 + 0.08 * (task.labels.index(row.label) if row.label in task.labels else 0), 2),
            title=short_name(row.label),
        )
        for i, row in enumerate(rows)
    )
    upper = [f"{x:.1f},{y(row.reading.high):.1f}" for row, x in zip(rows, xs, strict=True)]
    lower = [f"{x:.1f},{y(row.reading.low):.1f}" for row, x in zip(rows, xs, strict=True)]
    latest = rows[-1]
    return Chart(
        width=WIDTH,
        height=height,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        rows=[(y(share), f"{share:.0%}") for share in (0, 0.25, 0.5, 0.75, 1)],
        ticks=_ticks(rows, xs),
        points=points,
        line=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points) if len(points) > 1 else "",
        title=f"Hair density over time ({task.title.lower()})",
        description=(
            f"{_describe(rows)} Hair density {latest.reading.estimate:.0%} "
            f"(90 % interval {latest.reading.low:.0%} to {latest.reading.high:.0%})."
        ),
        band=" ".join(upper + lower[::-1]) if len(rows) > 1 else "",
        shades=shades,
    )


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
