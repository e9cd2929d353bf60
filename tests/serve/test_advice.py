"""Advice: written for every built-in label, plain about uncertainty, honest about phantoms."""

from __future__ import annotations

import pytest

from scalpcheck.serve.advice import advice_for, has_written_advice, load_texts, percent
from scalpcheck.serve.result import Alternative
from scalpcheck.tasks import TASKS

ALL_LABELS = [(task.name, label) for task in TASKS.values() for label in task.labels]


@pytest.mark.parametrize(("task", "label"), ALL_LABELS)
def test_every_builtin_label_has_written_advice(task, label):
    assert has_written_advice(task, label)
    name = TASKS[task].display_name(label)
    advice = advice_for(task, label, name, 0.9, [], low_confidence=False, synthetic_data=False)
    assert advice.summary != load_texts()["generic"]["summary"].format(display_name=name)
    assert len(advice.summary) > 40
    assert advice.recommendations and all(isinstance(r, str) and r for r in advice.recommendations)
    assert isinstance(advice.see_a_dermatologist, bool)
    assert "not a diagnosis" in advice.disclaimer
    assert advice.low_confidence_message is None and advice.synthetic_note is None


def test_advice_file_has_no_labels_the_tasks_lack():
    for task, entries in load_texts()["tasks"].items():
        assert set(entries) == set(TASKS[task].labels)


def test_conditions_recommend_a_dermatologist_and_healthy_does_not():
    def see(task, label):
        return advice_for(
            task, label, label, 0.9, [], low_confidence=False, synthetic_data=False
        ).see_a_dermatologist

    assert not see("scalp", "healthy") and not see("hairloss", "stage_0")
    assert all(see("scalp", label) for label in ("alopecia", "psoriasis", "folliculitis"))


def test_low_confidence_names_the_alternatives_and_a_dermatologist():
    alternatives = [
        Alternative("psoriasis", "Scalp psoriasis", 0.38),
        Alternative("alopecia", "Alopecia (patchy hair loss)", 0.01),
    ]
    advice = advice_for(
        "scalp", "healthy", "Healthy scalp", 0.52, alternatives, low_confidence=True, synthetic_data=False
    )
    message = advice.low_confidence_message
    assert "not sure" in message and "Healthy scalp" in message and "52%" in message
    assert "Scalp psoriasis" in message and "38%" in message
    assert "Alopecia" not in message  # 1 % is not worth naming
    assert "dermatologist" in message
    assert advice.see_a_dermatologist is True  # even for "healthy": the model is unsure


def test_phantom_models_say_so():
    advice = advice_for(
        "scalp", "healthy", "Healthy scalp", 0.9, [], low_confidence=False, synthetic_data=True
    )
    assert "synthetic" in advice.synthetic_note and "not on photos of real" in advice.synthetic_note


def test_custom_labels_get_generic_advice():
    advice = advice_for(
        "my_clinic",
        "seborrheic_dermatitis",
        "Seborrheic dermatitis",
        0.8,
        [],
        low_confidence=False,
        synthetic_data=False,
    )
    assert "Seborrheic dermatitis" in advice.summary
    assert advice.see_a_dermatologist is True
    assert advice.recommendations


@pytest.mark.parametrize(("p", "text"), [(0.999, ">99%"), (0.5, "50%"), (0.004, "<1%"), (0.126, "13%")])
def test_percent(p, text):
    assert percent(p) == text
