"""What changed between two assessments, told apart from what re-taking the photo gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scalpcheck.tasks import HAIRLOSS, TASKS, custom_task
from scalpcheck.web.trend import describe_change
from tests.helpers.web import Row

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LATER = START + timedelta(days=30)


@pytest.mark.parametrize(
    ("task", "before", "after", "kind", "words"),
    [
        ("hairloss", "stage_2", "stage_1", "better", "Better since 01 Mar 2026: Stage 2 → Stage 1"),
        ("hairloss", "stage_1", "stage_3", "worse", "Worse since 01 Mar 2026: Stage 1 → Stage 3"),
        ("hairloss", "stage_2", "stage_2", "same", "Unchanged since 01 Mar 2026: still Stage 2"),
        ("scalp", "psoriasis", "healthy", "better", "Better since 01 Mar 2026: Psoriasis → Healthy"),
        ("scalp", "healthy", "folliculitis", "worse", "Worse since 01 Mar 2026: Healthy → Folliculitis"),
        ("scalp", "alopecia", "psoriasis", "different", "Changed since 01 Mar 2026: Alopecia → Psoriasis"),
        ("custom", "a", "b", "different", "Changed since 01 Mar 2026: A → B"),
    ],
)
def test_describe_change(task, before, after, kind, words):
    info = TASKS.get(task) or custom_task(task, [before, after])
    previous, current = Row(task, before, 0.6, START, id=1), Row(task, after, 0.8, LATER, id=2)
    change = describe_change(info, previous, current)
    assert change.kind == kind and change.since == 1
    assert change.beyond_noise == (kind != "same")
    assert str(change.text).startswith(words) and "confidence 60% → 80%" in str(change.text)


def test_a_change_of_label_between_unsure_readings_is_no_change():
    previous = Row("hairloss", "stage_2", 0.9, START)
    current = Row("hairloss", "stage_3", 0.5, LATER, low_confidence=True)
    change = describe_change(HAIRLOSS, previous, current)
    assert change.kind == "same" and not change.beyond_noise
    assert str(change.text).startswith("No confident change since 01 Mar 2026: Stage 2 → Stage 3")


@pytest.mark.parametrize(
    ("before", "after", "kind", "start"),
    [
        (0.60, 0.55, "same", "No change beyond what re-taking the photo gives since 01 Mar 2026"),
        (0.60, 0.45, "worse", "Worse since 01 Mar 2026: hair density 60% → 45% (-15% of a full head"),
        (0.40, 0.52, "better", "Better since 01 Mar 2026: hair density 40% → 52% (+12% of a full head"),
    ],
)
def test_density_decides_against_the_smallest_detectable_change(before, after, kind, start):
    # the stage reads differently each time; only the density's change beyond the SDC (0.10) counts
    previous = Row("hairloss", "stage_2", 0.9, START, density=before, density_sdc=0.10)
    current = Row("hairloss", "stage_3", 0.9, LATER, density=after, density_sdc=0.10)
    change = describe_change(HAIRLOSS, previous, current)
    assert change.kind == kind and change.beyond_noise == (kind != "same")
    assert change.density_delta == pytest.approx(after - before)
    assert str(change.text).startswith(start), str(change.text)
    assert change.to_dict() == {
        "since": previous.id,
        "density_delta": change.density_delta,
        "beyond_noise": kind != "same",
        "smallest_detectable_change": 0.10,
        "summary": str(change.text),
    }


def test_without_a_smallest_detectable_change_no_density_change_counts():
    previous = Row("hairloss", "stage_1", 0.9, START, density=0.8)
    current = Row("hairloss", "stage_4", 0.9, LATER, density=0.1)
    change = describe_change(HAIRLOSS, previous, current)
    assert change.kind == "same" and not change.beyond_noise and change.smallest_detectable_change is None
    assert "cannot be told apart from re-taking the photo" in str(change.text)
