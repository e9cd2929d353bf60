"""card.json as types: everything needed to use a model bundle and to judge it (docs/bundle.md).

Training writes a Card, serving reads one; `Card.from_dict` refuses a card with a missing or wrong field
and names it, so a damaged bundle fails when it is loaded, never on a user's photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scalpcheck import records
from scalpcheck.evaluation import ChanceEce, CrossValidation, Evaluation, Intervals, Scores, ShiftReport
from scalpcheck.preprocess import Preprocess
from scalpcheck.tasks import TASKS, Task

FORMAT_VERSION = 1


class CardError(ValueError):
    """A card.json that cannot describe a usable model; the message names the field."""


@dataclass(frozen=True, kw_only=True)
class ClassInfo:
    label: str
    display_name: str


@dataclass(frozen=True, kw_only=True)
class BackboneInfo:
    name: str  # the timm architecture
    weights_source: str  # where its ImageNet weights came from, or "not pretrained (random init)"
    pretrained: bool
    fine_tuned: bool = False


@dataclass(frozen=True, kw_only=True)
class OodInfo:
    """How photos that are not scalps are refused (scalpcheck.ood), and what it was fitted on."""

    method: str
    threshold: float  # scores above it are refused
    accept_rate_target: float = 0.99
    heldout_accept_rate: float  # of the images the threshold was chosen on
    test_accept_rate: float | None = None
    fitted_on: str = ""
    threshold_from: str = ""
    negatives: int | None = None  # real photos that are not scalps, scored when the threshold was chosen
    negatives_refused: float | None = None  # the share of them it refuses


@dataclass(frozen=True, kw_only=True)
class ConfidenceMap:
    """After temperature scaling, the top class's probability x maps to y (piecewise linear between the
    knots, clamped at the ends): the share of such answers that were right on `fitted_on`."""

    x: tuple[float, ...]  # increasing
    y: tuple[float, ...]  # non-decreasing, in 0..1
    fitted_on: str


@dataclass(frozen=True, kw_only=True)
class DensityInfo:
    """The hair-density measurement (scalpcheck.density): what it was fitted on and how well it measures."""

    fitted_on: str
    coverage_target: float = 0.9  # of the interval
    half_width: float  # readings are estimate +- half_width, clipped to 0..1
    interval_from: str  # the held-out images whose errors gave the half-width
    mae: float | None = None  # on `measured_on`
    coverage: float | None = None  # the share of `measured_on` whose truth lies in the interval
    measured_on: str | None = None
    smallest_detectable_change: float | None = None  # None: no re-shoots to measure it on
    retest_pairs: int | None = None
    change_from: str | None = None  # the re-shoots the smallest detectable change was measured on


@dataclass(frozen=True, kw_only=True)
class ValidationScores:
    accuracy: float
    f1_macro: float
    log_loss: float
    ece: float


@dataclass(frozen=True, kw_only=True)
class ShiftTest:
    """The bundle evaluated through the serving path on photos of a source it was not trained on."""

    source: str
    evaluation: Evaluation


@dataclass(frozen=True, kw_only=True)
class CardMetrics(Scores):
    """The model's test-split figures, with what judging them needs beside."""

    split: str = "test"
    ci95: Intervals | None = None
    ece_uncalibrated: float | None = None
    ece_if_calibrated: ChanceEce | None = None
    validation: ValidationScores | None = None
    train_val_gap_points: float | None = None
    cv: CrossValidation | None = None
    calibrated_on: str | None = None  # where the temperature was fitted (None: the validation split)
    shift: ShiftTest | None = None
    leave_one_style_out: ShiftReport | None = None  # trained with --shift


@dataclass(frozen=True, kw_only=True)
class DataInfo:
    fingerprint: str  # content hashes of every file, its label and split
    n_images: int
    counts: dict[str, int]
    root: str | None = None
    layout: str | None = None
    split_counts: dict[str, dict[str, int]] | None = None
    synthetic: bool | None = None


@dataclass(frozen=True, kw_only=True)
class ExportInfo:
    opset: int
    parity_max_abs_logit_diff: float


@dataclass(frozen=True, kw_only=True)
class QuantizationInfo:
    format: str
    calibration_images: int
    quantized_ops: tuple[str, ...]
    fp32_test_accuracy: float
    int8_test_accuracy: float
    test_top1_agreement: float
    from_model_version: str


@dataclass(frozen=True, kw_only=True)
class Card:
    format_version: int = FORMAT_VERSION
    model_version: str  # "<task>-<YYYYmmddTHHMMSS>-<8 hex of the data fingerprint>[-int8]"
    task: str
    title: str
    ordinal: bool  # labels are ordered stages
    classes: tuple[ClassInfo, ...]  # in logit order
    preprocess: Preprocess
    backbone: BackboneInfo
    temperature: float  # calibrated probabilities are softmax(logits / temperature)
    confidence_map: ConfidenceMap | None = None  # then mapped so (scalpcheck.confidence)
    ood: OodInfo
    metrics: CardMetrics
    data: DataInfo
    created_at: str  # ISO 8601, UTC
    scalpcheck_version: str
    synthetic_data: bool  # trained on phantoms: every screen and report then says so
    export: ExportInfo | None = None
    quantization: QuantizationInfo | None = None
    density: DensityInfo | None = None  # None: the model has no density measurement

    @property
    def input_size(self) -> int:
        return self.preprocess.input_size

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.classes)

    def task_info(self) -> Task:
        """The task as this model knows it: its labels in logit order and their display names."""
        return Task(
            name=self.task,
            title=self.title,
            labels=self.labels,
            display_names={c.label: c.display_name for c in self.classes},
            ordinal=self.ordinal,
            measures_density=self.density is not None
            or (self.task in TASKS and TASKS[self.task].measures_density),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**records.to_dict(self, exclude_none=True), "input_size": self.input_size}

    @classmethod
    def from_dict(cls, data: Any) -> Card:
        if isinstance(data, dict) and data.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
            found = data["format_version"]
            raise CardError(f"bundle format {found}, expected {FORMAT_VERSION}: export the model again")
        try:
            card = records.from_dict(cls, data, "card.json")
        except records.RecordError as exc:
            raise CardError(str(exc)) from None
        problem = card._problem()
        if problem:
            raise CardError(f"card.json: {problem}")
        return card

    def _problem(self) -> str | None:
        labels = self.labels
        if len(labels) < 2 or len(set(labels)) != len(labels):
            return f"classes must be two or more different labels, got {list(labels)}"
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            return f"temperature must be a positive number, got {self.temperature}"
        m = self.confidence_map
        if m is not None and (
            len(m.x) != len(m.y) or not m.x or any(b < a for a, b in zip(m.x, m.x[1:], strict=False))
        ):
            return "confidence_map needs as many y as x values, x increasing"
        if not math.isfinite(self.ood.threshold):
            return f"ood.threshold must be a number, got {self.ood.threshold}"
        return None
