"""What assessing one photo gives: the serving side's result, before any database row exists."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from scalpcheck.density import Reading
from scalpcheck.serve.advice import Advice


@dataclass(frozen=True)
class Alternative:
    label: str
    display_name: str
    probability: float


@dataclass(frozen=True)
class ModelInfo:
    version: str
    backbone: str
    synthetic_data: bool  # trained on phantoms


@dataclass(frozen=True)
class Source:
    """The uploaded file as the decoder found it."""

    format: str  # "JPEG", "PNG" or "WEBP"
    width: int
    height: int
    orientation: int  # EXIF orientation, 1..8


@dataclass(frozen=True, eq=False)  # holds arrays and images: compare fields, not results
class AssessmentResult:
    task: str
    label: str
    display_name: str
    confidence: float  # calibrated probability of `label`
    probabilities: dict[str, float]  # calibrated, every class, in model order
    low_confidence: bool
    alternatives: tuple[Alternative, ...]  # the next most likely classes
    advice: Advice
    model: ModelInfo
    heatmap: np.ndarray  # float32 [h, w] in 0..1, Grad-CAM at feature-map resolution, over `image`
    image: Image.Image  # the centred square of the upright, downscaled photo: exactly what the model saw
    source: Source
    density: Reading | None = None  # hair density with its interval, from models that measure it
    measures_density: bool = False  # the task reads density: its JSON has a `density`, null without one
    density_sdc: float | None = None  # the model's smallest detectable change of density, where measured

    def to_dict(self) -> dict:
        """The assessment's JSON fields that need no database row, plus the alternatives."""
        return {
            "task": self.task,
            "label": self.label,
            "display_name": self.display_name,
            "confidence": self.confidence,
            "probabilities": dict(self.probabilities),
            "low_confidence": self.low_confidence,
            "alternatives": [asdict(a) for a in self.alternatives],
            "advice": self.advice.to_dict(),
            "model": asdict(self.model),
            **({"density": asdict(self.density) if self.density else None} if self.measures_density else {}),
        }
