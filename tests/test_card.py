"""card.json as a type: a card written before the type existed still reads, and a bad one is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scalpcheck.card import Card, CardError

# A hair-loss card written by scalpcheck 0.1.0 before the card became a type (trained, cross-validated).
FORMAT_1 = json.loads((Path(__file__).parent / "fixtures" / "card-format1-hairloss.json").read_text())


def test_a_card_written_before_the_type_reads_and_writes_back_the_same():
    card = Card.from_dict(FORMAT_1)
    assert card.task == "hairloss" and card.ordinal and len(card.classes) == 5
    assert card.input_size == card.preprocess.input_size == FORMAT_1["input_size"]
    assert card.metrics.qwk == FORMAT_1["metrics"]["qwk"] and card.metrics.cv is not None
    assert card.task_info().display_name("stage_4") == "Stage 4: complete baldness"
    assert card.to_dict() == FORMAT_1


def _broken(change) -> dict:
    data = copy.deepcopy(FORMAT_1)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["backbone"].pop("name"), "backbone.name: field required"),
        (lambda d: d.__setitem__("temperature", "warm"), "temperature: input should be a valid number"),
        (lambda d: d["preprocess"].__setitem__("color_space", "cmyk"), "preprocess.color_space"),
        (lambda d: d.__setitem__("temperature", -1.0), "temperature must be a positive number"),
        (lambda d: d.__setitem__("classes", d["classes"][:1]), "two or more different labels"),
        (lambda d: d["metrics"].pop("per_class"), "metrics.per_class: field required"),
        (lambda d: d.__setitem__("format_version", 7), "bundle format 7, expected 1"),
    ],
)
def test_a_bad_card_is_refused_naming_the_field(change, says):
    with pytest.raises(CardError) as info:
        Card.from_dict(_broken(change))
    assert says in str(info.value)


def test_every_problem_is_named_at_once():
    def two_problems(d):
        d["ood"].pop("threshold")
        d.pop("created_at")

    with pytest.raises(CardError) as info:
        Card.from_dict(_broken(two_problems))
    assert "ood.threshold" in str(info.value) and "created_at" in str(info.value)
