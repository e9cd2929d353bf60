"""What changed between two assessments of the same task, in words a person can act on.

For an ordinal task (hair-loss stages) a lower stage is better. For the scalp condition, moving to
"healthy" is better and leaving it is worse; any other change of label is just different.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalpcheck.tasks import Task, short_name

HEALTHY = "healthy"


@dataclass(frozen=True)
class Change:
    kind: str  # "same", "better", "worse" or "different"
    text: str


def describe_change(task: Task, previous, current) -> Change:
    """Compare two assessments (rows with label, confidence, created_at) of one user and `task`."""
    since = f"since {previous.created_at:%d %b %Y}"
    confidence = f"confidence {previous.confidence:.0%} → {current.confidence:.0%}"
    if previous.label == current.label:
        return Change("same", f"Unchanged {since}: still {short_name(current.label)} ({confidence}).")
    kind = _direction(task, previous.label, current.label)
    moved = f"{short_name(previous.label)} → {short_name(current.label)}"
    words = {"better": "Better", "worse": "Worse", "different": "Changed"}[kind]
    return Change(kind, f"{words} {since}: {moved} ({confidence}).")


def _direction(task: Task, before: str, after: str) -> str:
    if task.ordinal and before in task.labels and after in task.labels:
        return "better" if task.labels.index(after) < task.labels.index(before) else "worse"
    if after == HEALTHY:
        return "better"
    if before == HEALTHY:
        return "worse"
    return "different"
