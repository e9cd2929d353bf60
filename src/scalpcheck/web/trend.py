"""What changed between two assessments of the same task, told apart from what re-taking a photo gives.

Two photos of an unchanged scalp are not read alike: framing, light and focus move a density reading, and
a stage close to a boundary can fall either side of it. So a change counts only when it is larger than the
noise: for hair density, more than the model's smallest detectable change (scalpcheck.density); for a label,
a move between two readings that were both confident. For an ordinal task (hair-loss stages) a lower stage
and more hair are better. For the scalp condition, moving to "healthy" is better and leaving it is worse;
any other change of label is just different.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalpcheck.tasks import Task, short_name

HEALTHY = "healthy"


@dataclass(frozen=True)
class Change:
    kind: str  # "same" (nothing beyond noise), "better", "worse" or "different"
    text: str
    since: int  # the earlier assessment's id
    beyond_noise: bool
    density_delta: float | None = None
    smallest_detectable_change: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's `change` object."""
        return {
            "since": self.since,
            "density_delta": self.density_delta,
            "beyond_noise": self.beyond_noise,
            "smallest_detectable_change": self.smallest_detectable_change,
            "summary": self.text,
        }


def describe_change(task: Task, previous, current) -> Change:
    """Compare two assessments or two visits (anything with id, label, confidence, low_confidence,
    created_at, density and density_sdc: a row, an entry) of one user and `task`."""
    since = f"since {previous.created_at:%d %b %Y}"
    if previous.density is not None and current.density is not None:
        return _density_change(previous, current, since)
    moved = f"{short_name(previous.label)} → {short_name(current.label)}"
    confidence = f"confidence {previous.confidence:.0%} → {current.confidence:.0%}"
    if previous.label == current.label:
        text = f"Unchanged {since}: still {short_name(current.label)} ({confidence})."
        return Change("same", text, previous.id, False)
    if previous.low_confidence or current.low_confidence:
        text = f"No confident change {since}: {moved}, but not both readings were confident ({confidence})."
        return Change("same", text, previous.id, False)
    kind = _direction(task, previous.label, current.label)
    words = {"better": "Better", "worse": "Worse", "different": "Changed"}[kind]
    return Change(kind, f"{words} {since}: {moved} ({confidence}).", previous.id, True)


def _density_change(previous, current, since: str) -> Change:
    delta = float(current.density - previous.density)
    sdc = _pooled_sdc(previous.density_sdc, current.density_sdc)
    readings = f"hair density {_pct(previous.density)} → {_pct(current.density)}"
    stage = "" if previous.label == current.label else f"; the stage reads {short_name(previous.label)} → "
    stage += f"{short_name(current.label)}" if stage else ""
    if sdc is None:
        text = (
            f"Since {previous.created_at:%d %b %Y}: {readings}{stage}. This model has no measured smallest "
            "detectable change, so the change cannot be told apart from re-taking the photo."
        )
        return Change("same", text, previous.id, False, delta, None)
    if abs(delta) <= sdc:
        text = (
            f"No change beyond what re-taking the photo gives {since}: {readings}{stage} (changes of up to "
            f"{_pct(sdc)} are measurement noise)."
        )
        return Change("same", text, previous.id, False, delta, sdc)
    kind = "better" if delta > 0 else "worse"
    words = {"better": "Better", "worse": "Worse"}[kind]
    text = (
        f"{words} {since}: {readings} ({delta:+.0%} of a full head, beyond the smallest detectable change "
        f"of {_pct(sdc)}){stage}."
    )
    return Change(kind, text, previous.id, True, delta, sdc)


def _pooled_sdc(before: float | None, after: float | None) -> float | None:
    """The SDC of the difference of two readings with their own SDCs (equal for two single photos of one
    model; a visit's mean has a smaller one)."""
    if before is None or after is None:
        return after if before is None else before
    return math.sqrt((before**2 + after**2) / 2)


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _direction(task: Task, before: str, after: str) -> str:
    if task.ordinal and before in task.labels and after in task.labels:
        return "better" if task.labels.index(after) < task.labels.index(before) else "worse"
    if after == HEALTHY:
        return "better"
    if before == HEALTHY:
        return "worse"
    return "different"


def x_positions(times: list[datetime], left: float, right: float) -> list[float]:
    """x of each time: proportional to time, or evenly spread when they all fall within a minute."""
    if len(times) < 2:
        return [(left + right) / 2] * len(times)
    start = times[0]
    span = (times[-1] - start).total_seconds()
    if span < 60:
        step = (right - left) / (len(times) - 1)
        return [left + i * step for i in range(len(times))]
    return [left + (t - start).total_seconds() / span * (right - left) for t in times]


def label_order(task: Task, labels_seen) -> list[str]:
    """The rows of a chart by class, bottom up: the stages in order, or "healthy" first; then any label the
    current model no longer has."""
    order = list(task.labels) if task.ordinal else sorted(task.labels, key=lambda label: label != HEALTHY)
    for label in labels_seen:
        if label not in order:
            order.append(label)
    return order
