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

from flask_babel import gettext, ngettext

from scalpcheck.tasks import Task, short_name
from scalpcheck.web.language import date_text, localize, moment_text, percent_text
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
            title=gettext(
                "%(when)s: %(result)s, %(confidence)s confidence",
                when=moment_text(row.created_at),
                result=localize(short_name(row.label)),
                confidence=percent_text(row.confidence),
            ),
        )
        for row, x in zip(assessments, xs, strict=True)
    ]
    return Chart(
        width=WIDTH,
        height=height,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        rows=[(y, localize(short_name(label))) for label, y in row_y.items()],
        ticks=_ticks(assessments, xs),
        points=points,
        line=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points) if ordinal and len(points) > 1 else "",
        title=gettext("%(task)s over time", task=localize(task.title)),
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
            title=gettext(
                "%(when)s: hair density %(density)s (%(low)s to %(high)s); %(stage)s",
                when=moment_text(row.created_at),
                density=percent_text(row.reading.estimate),
                low=percent_text(row.reading.low),
                high=percent_text(row.reading.high),
                stage=localize(short_name(row.label)),
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
            title=localize(short_name(row.label)),
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
        rows=[(y(share), percent_text(share)) for share in (0, 0.25, 0.5, 0.75, 1)],
        ticks=_ticks(rows, xs),
        points=points,
        line=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points) if len(points) > 1 else "",
        title=gettext("Hair density over time (%(task)s)", task=localize(task.title)),
        description=gettext(
            "%(summary)s Hair density %(density)s (90 %% interval %(low)s to %(high)s).",
            summary=_describe(rows),
            density=percent_text(latest.reading.estimate),
            low=percent_text(latest.reading.low),
            high=percent_text(latest.reading.high),
        ),
        band=" ".join(upper + lower[::-1]) if len(rows) > 1 else "",
        shades=shades,
    )


def _ticks(assessments: Sequence, xs: list[float]) -> list[tuple[float, str]]:
    """The first and last dates under the axis (one date when all fall on the same day)."""
    if not assessments:
        return []
    first, last = assessments[0].created_at, assessments[-1].created_at
    year = first.year != last.year
    if first.date() == last.date():
        return [(xs[0] if len(xs) == 1 else (xs[0] + xs[-1]) / 2, date_text(first, year))]
    return [(xs[0], date_text(first, year)), (xs[-1], date_text(last, year))]


def _describe(assessments: Sequence) -> str:
    if not assessments:
        return gettext("No assessments yet.")
    first, last = assessments[0], assessments[-1]
    return ngettext(
        "%(num)d assessment from %(first)s to %(last)s; the latest: %(result)s, %(confidence)s confidence.",
        "%(num)d assessments from %(first)s to %(last)s; the latest: %(result)s, %(confidence)s confidence.",
        len(assessments),
        first=date_text(first.created_at),
        last=date_text(last.created_at),
        result=localize(short_name(last.label)),
        confidence=percent_text(last.confidence),
    )
