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

from scalpcheck.i18n import N_, Text, text
from scalpcheck.tasks import Task, short_name

HEALTHY = "healthy"


@dataclass(frozen=True)
class Change:
    kind: str  # "same" (nothing beyond noise), "better", "worse" or "different"
    text: Text  # str() is the English of the API; pages show it in the reader's language
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
            "summary": str(self.text),
        }


def describe_change(task: Task, previous, current) -> Change:
    """Compare two assessments or two visits (anything with id, label, confidence, low_confidence,
    created_at, density and density_sdc: a row, an entry) of one user and `task`."""
    if previous.density is not None and current.density is not None:
        return _density_change(previous, current)
    labels = {
        "before": short_name(previous.label),
        "after": short_name(current.label),
        "date": previous.created_at,
    }
    confidences = {"was": _pct(previous.confidence), "now": _pct(current.confidence)}
    if previous.label == current.label:
        message = text(
            "Unchanged since %(date)s: still %(after)s (confidence %(was)s → %(now)s).",
            **labels,
            **confidences,
        )
        return Change("same", message, previous.id, False)
    if previous.low_confidence or current.low_confidence:
        message = text(
            "No confident change since %(date)s: %(before)s → %(after)s, "
            "but not both readings were confident (confidence %(was)s → %(now)s).",
            **labels,
            **confidences,
        )
        return Change("same", message, previous.id, False)
    kind = _direction(task, previous.label, current.label)
    template = {
        "better": N_("Better since %(date)s: %(before)s → %(after)s (confidence %(was)s → %(now)s)."),
        "worse": N_("Worse since %(date)s: %(before)s → %(after)s (confidence %(was)s → %(now)s)."),
        "different": N_("Changed since %(date)s: %(before)s → %(after)s (confidence %(was)s → %(now)s)."),
    }[kind]
    return Change(kind, Text(template, {**labels, **confidences}), previous.id, True)


def _density_change(previous, current) -> Change:
    delta = float(current.density - previous.density)
    sdc = _pooled_sdc(previous.density_sdc, current.density_sdc)
    readings = text("hair density %(was)s → %(now)s", was=_pct(previous.density), now=_pct(current.density))
    stage: Text | str = ""
    if previous.label != current.label:
        stage = text(
            "; the stage reads %(before)s → %(after)s",
            before=short_name(previous.label),
            after=short_name(current.label),
        )
    values = {"date": previous.created_at, "readings": readings, "stage": stage}
    if sdc is None:
        message = text(
            "Since %(date)s: %(readings)s%(stage)s. This model has no measured smallest detectable change, "
            "so the change cannot be told apart from re-taking the photo.",
            **values,
        )
        return Change("same", message, previous.id, False, delta, None)
    values["sdc"] = _pct(sdc)
    if abs(delta) <= sdc:
        message = text(
            "No change beyond what re-taking the photo gives since %(date)s: %(readings)s%(stage)s "
            "(changes of up to %(sdc)s are measurement noise).",
            **values,
        )
        return Change("same", message, previous.id, False, delta, sdc)
    kind = "better" if delta > 0 else "worse"
    template = {
        "better": N_(
            "Better since %(date)s: %(readings)s (%(delta)s of a full head, beyond the smallest "
            "detectable change of %(sdc)s)%(stage)s."
        ),
        "worse": N_(
            "Worse since %(date)s: %(readings)s (%(delta)s of a full head, beyond the smallest "
            "detectable change of %(sdc)s)%(stage)s."
        ),
    }[kind]
    return Change(kind, Text(template, {**values, "delta": f"{delta:+.0%}"}), previous.id, True, delta, sdc)


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
