"""Is a photo usable at all? Size, sharpness and exposure, measured without torch.

Shared by `scalpcheck clean` (which flags training images) and the web app's quality gate (which refuses
an upload before any model runs), so both judge a photo the same way. Only numpy and Pillow are used:
the serving path imports this module.

Every measure is taken on a grey copy whose short side is at most ANALYSIS_SIDE pixels, about what the
model sees (224 px). That makes the measures independent of the camera's resolution and cheap enough for
every upload: defocus that vanishes at the model's scale does not matter to the model.

Blur is judged by where the detail is, not by how much there is: bald skin has little detail and is
sharp, hair has plenty. Detail is the variance of the Laplacian at three scales of an image pyramid
(the analysis image, 1/4 and 1/8 of it). Defocus removes fine detail first, so a blurred photo has (a)
almost nothing at the finest scale, where a sharp photo has texture or at least sensor noise, and (b)
either far less detail at 1/4 than at 1/8 of the scale, or no detail at 1/8 either. A photo is too blurry
only when (a) and (b) both hold, so neither smooth skin nor a noisy dim photo is called blurry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

ANALYSIS_SIDE = 256
_WIDE_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


@dataclass(frozen=True)
class QualityStats:
    width: int  # of the photo, in pixels
    height: int
    sharpness: float  # Laplacian variance at 1/4 scale over that at 1/8: ~1 sharp texture, ~0.5 photos
    fine_detail: float  # Laplacian variance at the analysis scale (grey 0..1, times 1000)
    coarse_detail: float  # Laplacian variance at 1/8 of the analysis scale (times 1000)
    brightness: float  # mean grey level, 0 (black) .. 1 (white)
    contrast: float  # standard deviation of the grey levels, 0 .. 0.5


@dataclass(frozen=True)
class QualityLimits:
    """What a usable photo needs. Each limit lies between what usable photos (phantoms of every skin tone,
    real photos) and planted faults (blurred, darkened, brightened, tiny) measure; the quality tests keep
    cases on both sides of each."""

    min_side: int = 96
    """Short side in pixels. Below this, the model's 224 px input is upscaled more than 2.3 times and
    pustules of a few pixels or single hairs are gone."""

    min_brightness: float = 0.10
    """Mean grey level: well below any usable photo, very dark skin in dim light included, and above
    nearly black ones."""

    max_brightness: float = 0.90
    """Mean grey level: above any ordinary photo, below washed-out ones."""

    min_fine_detail: float = 0.15
    """Laplacian variance (x1000) at the analysis scale. Heavy defocus leaves almost none, but so can bald
    skin with little sensor noise: this alone does not make a photo blurry."""

    min_sharpness: float = 0.45
    """Ratio of Laplacian variance at 1/4 scale to 1/8 scale: about 1 for sharp texture, bald skin
    included, and far lower once defocus has removed the finer scale."""

    min_coarse_detail: float = 0.2
    """Laplacian variance (x1000) at 1/8 scale, for photos blurred until even the coarse scale is empty
    (their ratio above is then only compression noise)."""


def grey_image(img: Image.Image) -> Image.Image:
    """A grey ("L") copy whose short side is at most ANALYSIS_SIDE (never enlarged): what is measured."""
    if img.mode in _WIDE_MODES:  # 16-bit and float images: Pillow's "L" conversion would clip them
        values = np.asarray(img, dtype=np.float32) / np.float32(_WIDE_MODES[img.mode])
        img = Image.fromarray(np.clip(values * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    scale = ANALYSIS_SIDE / min(img.size)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    return img.convert("L")


def _laplacian_variance(grey: np.ndarray) -> float:
    if min(grey.shape) < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    lap = 4 * centre - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float(lap.var()) * 1000


def _halve(grey: np.ndarray) -> np.ndarray:
    """2 x 2 averages: one level down the pyramid."""
    h, w = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
    return (grey[0:h:2, 0:w:2] + grey[1:h:2, 0:w:2] + grey[0:h:2, 1:w:2] + grey[1:h:2, 1:w:2]) * np.float32(
        0.25
    )


def measure(img: Image.Image) -> QualityStats:
    grey = np.asarray(grey_image(img), dtype=np.float32) * np.float32(1 / 255)
    quarter = _halve(_halve(grey))
    eighth = _halve(quarter)
    coarse = _laplacian_variance(eighth)
    return QualityStats(
        width=img.width,
        height=img.height,
        sharpness=_laplacian_variance(quarter) / coarse if coarse > 0 else 0.0,
        fine_detail=_laplacian_variance(grey),
        coarse_detail=coarse,
        brightness=float(grey.mean()),
        contrast=float(grey.std()),
    )


def problems(stats: QualityStats, limits: QualityLimits = QualityLimits()) -> list[str]:
    """The error codes of what is wrong with the photo, most basic first; [] when it is usable.

    Exposure is judged before sharpness: a nearly black photo has no detail left to be sharp with.
    """
    found = []
    if min(stats.width, stats.height) < limits.min_side:
        found.append("image_too_small")
    if stats.brightness < limits.min_brightness:
        found.append("image_too_dark")
    elif stats.brightness > limits.max_brightness:
        found.append("image_too_bright")
    elif stats.fine_detail < limits.min_fine_detail and (
        stats.sharpness < limits.min_sharpness or stats.coarse_detail < limits.min_coarse_detail
    ):
        found.append("image_too_blurry")
    return found
