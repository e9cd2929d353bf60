"""What changed between two assessments of the same task, in words a person can act on.

For an ordinal task (hair-loss stages) a lower stage is better. For the scalp condition, moving to
"healthy" is better and leaving it is worse; any other change of label is just different.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalpcheck.tasks import TASKS

HEALTHY = "healthy"


@dataclass(frozen=True)
class Change:
    kind: str  # "same", "better", "worse" or "different"
    text: str


def short_label(label: str) -> str:
    """ "stage_2" -> "Stage 2", "psoriasis" -> "Psoriasis": fits a chart axis or a table cell."""
    return label.replace("_", " ").capitalize()


def describe_change(previous, current) -> Change:
    """Compare two assessments (rows with task, label, confidence, created_at) of one user and task."""
    since = f"since {previous.created_at:%d %b %Y}"
    confidence = f"confidence {previous.confidence:.0%} → {current.confidence:.0%}"
    if previous.label == current.label:
        return Change("same", f"Unchanged {since}: still {short_label(current.label)} ({confidence}).")
    kind = _direction(current.task, previous.label, current.label)
    moved = f"{short_label(previous.label)} → {short_label(current.label)}"
    words = {"better": "Better", "worse": "Worse", "different": "Changed"}[kind]
    return Change(kind, f"{words} {since}: {moved} ({confidence}).")


def _direction(task_name: str, before: str, after: str) -> str:
    task = TASKS.get(task_name)
    if task is not None and task.ordinal and before in task.labels and after in task.labels:
        return "better" if task.labels.index(after) < task.labels.index(before) else "worse"
    if after == HEALTHY:
        return "better"
    if before == HEALTHY:
        return "worse"
    return "different"
