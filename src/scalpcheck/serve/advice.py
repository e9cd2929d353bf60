"""Advice for a result, from the data file advice.yaml (edited by people, not code).

Every result carries the disclaimer; a model trained on phantoms adds the synthetic-data note; a result
the model is unsure about adds a plain low-confidence message naming the alternatives and recommends a
dermatologist. Labels without written advice (custom tasks) get the file's generic text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Protocol

import yaml

from scalpcheck.i18n import N_

# Alternatives below this probability are not worth naming in the low-confidence message.
MENTION_ALTERNATIVE_FROM = 0.05


class Named(Protocol):
    @property
    def display_name(self) -> str: ...
    @property
    def probability(self) -> float: ...


@dataclass(frozen=True)
class Advice:
    summary: str
    recommendations: tuple[str, ...]
    see_a_dermatologist: bool
    low_confidence_message: str | None  # set when the model is unsure, naming what else it could be
    disclaimer: str
    synthetic_note: str | None  # set for a model trained on phantoms

    def to_dict(self) -> dict:
        """The JSON's `advice` (and what an assessment row stores)."""
        return {**asdict(self), "recommendations": list(self.recommendations)}


@functools.cache
def load_texts() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("advice.yaml").read_text("utf-8"))


def percent(p: float) -> str:
    """A probability as a person reads it; never "100%" or "0%", which a model cannot know."""
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def has_written_advice(task: str, label: str) -> bool:
    return label in load_texts()["tasks"].get(task, {})


def advice_for(
    task: str,
    label: str,
    display_name: str,
    confidence: float,
    alternatives: Sequence[Named],
    *,
    low_confidence: bool,
    synthetic_data: bool,
    translate: Callable[[str], str] = N_,
) -> Advice:
    """The advice block of an assessment (the JSON's `advice`), in English unless `translate` says
    otherwise (the web app passes its gettext)."""
    texts = load_texts()
    entry = texts["tasks"].get(task, {}).get(label) or texts["generic"]
    name = translate(display_name)
    return Advice(
        summary=translate(entry["summary"]).format(display_name=name),
        recommendations=tuple(translate(item) for item in entry["recommendations"]),
        see_a_dermatologist=bool(entry["see_a_dermatologist"] or low_confidence),
        low_confidence_message=(
            _low_confidence_message(
                translate(texts["low_confidence"]), name, confidence, alternatives, translate
            )
            if low_confidence
            else None
        ),
        disclaimer=translate(texts["disclaimer"]),
        synthetic_note=translate(texts["synthetic_note"]) if synthetic_data else None,
    )


def _low_confidence_message(
    template: str,
    display_name: str,
    confidence: float,
    alternatives: Sequence[Named],
    translate: Callable[[str], str],
) -> str:
    named = [a for a in alternatives if a.probability >= MENTION_ALTERNATIVE_FROM] or list(alternatives[:1])
    phrases = [f'"{translate(a.display_name)}" ({percent(a.probability)})' for a in named]
    listed = phrases[0]
    if len(phrases) > 1:
        listed = translate(N_("{others} or {last}")).format(others=", ".join(phrases[:-1]), last=phrases[-1])
    return template.format(display_name=display_name, confidence=percent(confidence), alternatives=listed)


def extract_messages(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor for advice.yaml (babel.cfg): every text a person reads, for the catalogue."""
    texts = yaml.safe_load(fileobj.read().decode("utf-8"))
    found = [texts["disclaimer"], texts["synthetic_note"], texts["low_confidence"]]
    for entry in [texts["generic"], *(e for task in texts["tasks"].values() for e in task.values())]:
        found += [entry["summary"], *entry["recommendations"]]
    for message in found:
        yield 0, "", message, ["advice.yaml"]
