"""The serving pipeline: uploaded bytes -> an assessment, or a refusal with a reason.

decode -> quality gate -> model (one ONNX run) -> out-of-distribution check -> calibrated probabilities ->
Grad-CAM -> advice. Each step is its own module; this one owns the loaded models and wires the steps in two
halves: `Assessor.prepare` (the photo the model sees) and `interpret` (what the model's output means), with
the model run between them. The web app and `scalpcheck predict` both call Assessor.assess, so the command
line shows exactly what users get.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from scalpcheck.bundle import BundleError
from scalpcheck.confidence import probabilities as calibrated
from scalpcheck.errors import ImageRejected, TaskUnavailable
from scalpcheck.i18n import text
from scalpcheck.preprocess import center_square, preprocess
from scalpcheck.serve import gate
from scalpcheck.serve.advice import advice_for
from scalpcheck.serve.decode import decode
from scalpcheck.serve.explain import grad_cam
from scalpcheck.serve.model import LoadedModel, ModelOutput
from scalpcheck.serve.result import Alternative, AssessmentResult, ModelInfo, Source
from scalpcheck.tasks import TASKS

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 64_000_000
# Low confidence: the top class is below 60 %, or the runner-up is within 15 points of it. Either way the
# photo fits two labels about equally well, which a person should hear plainly. On calibrated probabilities
# a 60 % answer is wrong about four times in ten.
LOW_CONFIDENCE_BELOW = 0.60
LOW_CONFIDENCE_MARGIN = 0.15
N_ALTERNATIVES = 2


@dataclass(frozen=True)
class Photo:
    view: Image.Image  # the centred square of the upright, downscaled photo: what the model sees
    source: Source


def model_info(model: LoadedModel) -> ModelInfo:
    card = model.card
    return ModelInfo(
        version=card.model_version, backbone=card.backbone.name, synthetic_data=card.synthetic_data
    )


def interpret(
    model: LoadedModel,
    output: ModelOutput,
    photo: Photo,
    explain: Callable[[int], np.ndarray] | None = None,
) -> AssessmentResult:
    """What the model's output for `photo` means for the user; raises ImageRejected for a non-scalp.

    `explain(class_index)` gives the heat map; by default Grad-CAM from the bundle's head.
    """
    if model.ood_score(output) > model.card.ood.threshold:
        raise ImageRejected("not_a_scalp_image")
    task = model.task
    probabilities = calibrated(output.logits, model.card.temperature, model.card.confidence_map)
    order = np.argsort(-probabilities, kind="stable")
    top, runner_up = int(order[0]), int(order[1])
    low_confidence = bool(
        probabilities[top] < LOW_CONFIDENCE_BELOW
        or probabilities[top] - probabilities[runner_up] < LOW_CONFIDENCE_MARGIN
    )
    alternatives = tuple(
        Alternative(task.labels[i], task.display_name(task.labels[i]), float(probabilities[i]))
        for i in order[1 : 1 + N_ALTERNATIVES]
    )
    label, confidence = task.labels[top], float(probabilities[top])
    display_name = task.display_name(label)
    if explain is None:
        heatmap = grad_cam(model.head, output.embedding, output.feature_map, top)
    else:
        heatmap = explain(top)
    return AssessmentResult(
        task=task.name,
        label=label,
        display_name=display_name,
        confidence=confidence,
        probabilities={name: float(p) for name, p in zip(task.labels, probabilities, strict=True)},
        low_confidence=low_confidence,
        alternatives=alternatives,
        advice=advice_for(
            task.name,
            label,
            display_name,
            confidence,
            alternatives,
            low_confidence=low_confidence,
            synthetic_data=model.card.synthetic_data,
        ),
        model=model_info(model),
        heatmap=heatmap,
        image=photo.view,
        source=photo.source,
        density=model.read_density(output),
        measures_density=task.measures_density,
        density_sdc=model.card.density.smallest_detectable_change if model.card.density else None,
    )


class Assessor:
    """Every published model, loaded once and kept warm; thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, models_dir: str | Path, max_upload_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS):
        """Load each bundle under `models_dir/<task>/`; a broken one makes its task unavailable (logged)."""
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self._models: dict[str, LoadedModel] = {}
        self._broken: dict[str, str] = {}
        models_dir = Path(models_dir)
        folders = sorted(models_dir.iterdir()) if models_dir.is_dir() else []
        for folder in folders:
            if folder.name.startswith(".") or folder.is_file():
                continue  # .bundles/ holds the versions the task links point to; a dangling link is broken
            try:
                self._models[folder.name] = _load_for_task(folder, folder.name)
            except BundleError as exc:
                log.error("model for task %r is unavailable: %s", folder.name, exc)
                self._broken[folder.name] = str(exc)

    @classmethod
    def from_bundle(
        cls, bundle_dir: str | Path, max_upload_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> Assessor:
        """An assessor for one bundle that need not be published (`predict --bundle`, `evaluate`).

        Raises BundleError when the bundle is broken, rather than logging it: the caller asked for it.
        """
        model = LoadedModel.load(bundle_dir)
        assessor = cls.__new__(cls)
        assessor.max_upload_bytes = max_upload_bytes
        assessor.max_pixels = max_pixels
        assessor._models = {model.card.task: model}
        assessor._broken = {}
        return assessor

    @property
    def models(self) -> Mapping[str, LoadedModel]:
        """The tasks that can be assessed now and their models."""
        return self._models

    def assess(self, data: bytes, task: str) -> AssessmentResult:
        """Assess one uploaded photo; raises TaskUnavailable or ImageRejected (scalpcheck.errors)."""
        model = self.model(task)
        photo = self.prepare(data, model)
        return interpret(model, model.run(preprocess(photo.view, model.preprocess)), photo)

    def prepare(self, data: bytes, model: LoadedModel) -> Photo:
        """Decode the upload and pass it through the quality gate; raises ImageRejected."""
        decoded = decode(
            data,
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            min_side=model.preprocess.input_size,
        )
        gate.check(decoded.image, decoded.upright_size)
        source = Source(decoded.format, decoded.width, decoded.height, decoded.orientation)
        return Photo(center_square(decoded.image), source)

    def model(self, task: str) -> LoadedModel:
        if task in self._models:
            return self._models[task]
        if task in TASKS or task in self._broken:
            title = TASKS[task].title if task in TASKS else task
            message = text(
                "The assessment “%(title)s” is not available right now. Please try again later.", title=title
            )
            raise TaskUnavailable("model_unavailable", message)
        available = ", ".join(sorted(set(TASKS) | set(self._models)))
        message = text(
            "There is no assessment called %(task)s; choose one of: %(available)s.",
            task=repr(task),
            available=available,
        )
        raise TaskUnavailable("unknown_task", message)


def _load_for_task(folder: Path, task: str) -> LoadedModel:
    model = LoadedModel.load(folder)
    if model.card.task != task:
        raise BundleError(f"{folder} holds a model for task {model.card.task!r}, not {task!r}")
    return model
