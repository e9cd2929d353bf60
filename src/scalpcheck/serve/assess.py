"""The serving pipeline: uploaded bytes -> an assessment, or a refusal with a reason.

The steps of DESIGN.md (Serving an image): decode -> quality gate -> model (one ONNX run) ->
out-of-distribution check -> calibrated probabilities -> Grad-CAM -> advice. Each step is its own module;
this one only wires them together and owns the loaded models. The web app and `scalpcheck predict` both
call Assessor.assess, so the command line shows exactly what users get.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from scalpcheck import ood
from scalpcheck.bundle import BundleError
from scalpcheck.errors import ImageRejected, TaskUnavailable
from scalpcheck.preprocess import center_square, preprocess
from scalpcheck.serve import gate
from scalpcheck.serve.advice import advice_for
from scalpcheck.serve.decode import decode
from scalpcheck.serve.explain import grad_cam
from scalpcheck.serve.model import LoadedModel
from scalpcheck.tasks import TASKS

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 64_000_000
# Low confidence: the top class is below 60 %, or the runner-up is within 15 points of it. Either way the
# photo fits two labels about equally well, which a person should hear plainly. On calibrated probabilities
# a 60 % answer is wrong about four times in ten.
LOW_CONFIDENCE_BELOW = 0.60
LOW_CONFIDENCE_MARGIN = 0.15
N_ALTERNATIVES = 2

NOT_A_SCALP = (
    "This photo does not look like a close-up of a scalp, so it cannot be assessed. Please take a photo "
    "looking straight down at the scalp from about 10 cm, with only scalp and hair in the frame."
)


@dataclass(eq=False)  # holds arrays and images: compare fields, not assessments
class Assessment:
    task: str
    label: str
    display_name: str
    confidence: float  # calibrated probability of `label`
    probabilities: dict[str, float]  # calibrated, every class, in model order
    low_confidence: bool
    alternatives: list[dict]  # the next most likely classes: {"label", "display_name", "probability"}
    advice: dict  # see scalpcheck.serve.advice.advice_for
    model: dict  # {"version", "backbone", "synthetic_data"}
    heatmap: np.ndarray  # float32 [h, w] in 0..1, Grad-CAM at feature-map resolution, over `image`
    image: Image.Image  # the centred square of the upright, downscaled photo: exactly what the model saw
    source: dict  # {"format", "width", "height", "orientation"} of the uploaded file

    def to_dict(self) -> dict:
        """The assessment's JSON fields (DESIGN.md) that need no database row, plus the alternatives."""
        return {
            "task": self.task,
            "label": self.label,
            "display_name": self.display_name,
            "confidence": self.confidence,
            "probabilities": dict(self.probabilities),
            "low_confidence": self.low_confidence,
            "alternatives": [dict(a) for a in self.alternatives],
            "advice": dict(self.advice),
            "model": dict(self.model),
        }


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
        assessor._models = {model.card["task"]: model}
        assessor._broken = {}
        return assessor

    def tasks(self) -> dict[str, dict]:
        """The tasks that can be assessed now, their classes and model (for pages, the API and /healthz)."""
        return {
            task: {
                "title": TASKS[task].title if task in TASKS else model.card.get("title", task),
                "classes": [dict(c) for c in model.card["classes"]],
                "model": {
                    **_model_info(model),
                    "created_at": model.card["created_at"],
                    "metrics": model.card["metrics"],
                },
            }
            for task, model in self._models.items()
        }

    def assess(self, data: bytes, task: str) -> Assessment:
        """Assess one uploaded photo; raises TaskUnavailable or ImageRejected (DESIGN.md error codes)."""
        model = self._model(task)
        decoded = decode(
            data,
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            min_side=model.preprocess.input_size,
        )
        gate.check(decoded.image, decoded.upright_size)
        view = center_square(decoded.image)
        out = model.run(preprocess(view, model.preprocess))
        if ood.score(model.ood_stats, out.embedding)[0] > model.ood_threshold:
            raise ImageRejected("not_a_scalp_image", NOT_A_SCALP)

        probabilities = _softmax(out.logits / model.temperature)
        order = np.argsort(-probabilities, kind="stable")
        top, runner_up = order[0], order[1]
        labels = model.labels
        low_confidence = bool(
            probabilities[top] < LOW_CONFIDENCE_BELOW
            or probabilities[top] - probabilities[runner_up] < LOW_CONFIDENCE_MARGIN
        )
        alternatives = [
            {
                "label": labels[i],
                "display_name": model.display_name(labels[i]),
                "probability": float(probabilities[i]),
            }
            for i in order[1 : 1 + N_ALTERNATIVES]
        ]
        label, confidence = labels[top], float(probabilities[top])
        display_name = model.display_name(label)
        return Assessment(
            task=task,
            label=label,
            display_name=display_name,
            confidence=confidence,
            probabilities={name: float(p) for name, p in zip(labels, probabilities, strict=True)},
            low_confidence=low_confidence,
            alternatives=alternatives,
            advice=advice_for(
                task,
                label,
                display_name,
                confidence,
                alternatives,
                low_confidence=low_confidence,
                synthetic_data=bool(model.card["synthetic_data"]),
            ),
            model=_model_info(model),
            heatmap=grad_cam(model.head, out.embedding, out.feature_map, int(top)),
            image=view,
            source={
                "format": decoded.format,
                "width": decoded.width,
                "height": decoded.height,
                "orientation": decoded.orientation,
            },
        )

    def _model(self, task: str) -> LoadedModel:
        if task in self._models:
            return self._models[task]
        if task in TASKS or task in self._broken:
            title = TASKS[task].title if task in TASKS else task
            message = f"The {title.lower()} assessment is not available right now. Please try again later."
            raise TaskUnavailable("model_unavailable", message)
        available = ", ".join(sorted(set(TASKS) | set(self._models)))
        message = f"There is no assessment called {task!r}; choose one of: {available}."
        raise TaskUnavailable("unknown_task", message)


def _load_for_task(folder: Path, task: str) -> LoadedModel:
    model = LoadedModel.load(folder)
    if model.card["task"] != task:
        raise BundleError(f"{folder} holds a model for task {model.card['task']!r}, not {task!r}")
    return model


def _model_info(model: LoadedModel) -> dict:
    return {
        "version": model.card["model_version"],
        "backbone": model.card["backbone"]["name"],
        "synthetic_data": bool(model.card["synthetic_data"]),
    }


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()
