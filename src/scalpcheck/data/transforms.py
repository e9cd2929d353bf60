"""Training-time image transforms: the shared preprocessing, plus augmentation (torchvision transforms v2).

Evaluation uses scalpcheck.preprocess exactly as serving does, so validation and test numbers describe the
model that will be served. Augmentation acts on the PIL image before that same final step.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps
from torchvision.transforms import v2

from scalpcheck.preprocess import Preprocess, fit_square, preprocess, to_array

# The ranges of the random views. Zoom rescales hair widths and lesion sizes; a hair-loss stage is a share
# of the scalp covered, which no zoom changes. Redness is a cue (psoriasis, folliculitis), so hue stays.
ZOOM = (0.75, 1.5)  # the view's scale against the plain view: below 1 a wider field, above 1 a closer one
SHIFT = 0.15  # of the view's width, either way
WHITE_BALANCE = 0.12  # each channel's gain varies by up to 12 %
BRIGHTNESS, CONTRAST, SATURATION = 0.25, 0.3, 0.35
GAMMA = (0.8, 1.25)
BLUR_ODDS, BLUR_SIGMA = 0.4, (0.3, 1.5)  # Gaussian sigma in pixels of the model's input
NOISE_ODDS, NOISE_SIGMA = 0.5, (0.005, 0.04)
JPEG_ODDS, JPEG_QUALITY = 0.5, (40, 95)
WORK_SCALE = 1.25  # photos are brought to this many times the input side first: enough for the closest zoom


def load_rgb(path: str | Path) -> Image.Image:
    """An image file as the user sees it (EXIF orientation applied), in RGB, fully read and closed."""
    with Image.open(path) as img:
        return ImageOps.exif_transpose(img).convert("RGB")


@dataclass(frozen=True)
class EvalTransform:
    """Exactly the serving preprocessing, as a tensor. A class (not a closure) so DataLoader workers can
    pickle it."""

    pre: Preprocess

    def __call__(self, img: Image.Image) -> torch.Tensor:
        return torch.from_numpy(preprocess(img, self.pre))


class TrainTransform:
    """A random view of the photo, as another camera could have taken it: geometry, then light and sensor.

    Geometry: any rotation (top-down photos of the scalp have no "up"), flips, a zoom in or out and a shift.
    The photo is mirrored into a wide margin first (reflection padding), so rotated corners and a zoomed-out
    field hold skin and hair rather than black triangles that no real photo has; the view stays square, as a
    stretched photo would distort round patches. Light and sensor: white balance, brightness, contrast,
    saturation, gamma, then sometimes defocus, sensor noise and JPEG compression, each drawn per view.
    """

    def __init__(self, pre: Preprocess):
        self.pre = pre
        self.side = math.ceil(pre.input_size * WORK_SCALE)
        margin = math.ceil(self.side * 0.9)  # the widest field (smallest zoom, a shift) at any angle
        self.geometry = v2.Compose(
            [
                v2.Pad(margin, padding_mode="reflect"),
                v2.RandomAffine(
                    degrees=180,
                    translate=(SHIFT * self.side / (self.side + 2 * margin),) * 2,
                    scale=ZOOM,
                    interpolation=v2.InterpolationMode.BILINEAR,
                ),
                v2.CenterCrop(self.side),
                v2.Resize(pre.input_size, interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
                v2.RandomHorizontalFlip(),
                v2.RandomVerticalFlip(),
            ]
        )
        self.photometric = True  # False: geometry only (tests of the geometry)

    def __call__(self, img: Image.Image) -> torch.Tensor:
        view = self.geometry(fit_square(img, self.side, self.pre.interpolation))
        if self.photometric:
            view = _light_and_sensor(view)
        return torch.from_numpy(to_array(view, self.pre))


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _light_and_sensor(view: Image.Image) -> Image.Image:
    """White balance, exposure, contrast, saturation and gamma; then, by their odds, blur, noise and JPEG."""
    a = np.asarray(view, dtype=np.float32) * np.float32(1 / 255)
    gains = np.array([_uniform(1 - WHITE_BALANCE, 1 + WHITE_BALANCE) for _ in range(3)], np.float32)
    a = a * gains
    mean = float(a.mean())
    a = (a - mean) * _uniform(1 - CONTRAST, 1 + CONTRAST) + mean * _uniform(1 - BRIGHTNESS, 1 + BRIGHTNESS)
    grey = a.mean(axis=2, keepdims=True)
    a = grey + (a - grey) * _uniform(1 - SATURATION, 1 + SATURATION)
    a = np.clip(a, 0, 1) ** np.float32(_uniform(*GAMMA))
    if _uniform(0, 1) < NOISE_ODDS:
        noise = torch.randn(a.shape, dtype=torch.float32).numpy()
        a = a + noise * np.float32(_uniform(*NOISE_SIGMA))
    out = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))
    if _uniform(0, 1) < BLUR_ODDS:
        out = out.filter(ImageFilter.GaussianBlur(_uniform(*BLUR_SIGMA)))
    if _uniform(0, 1) < JPEG_ODDS:
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=int(_uniform(*JPEG_QUALITY)))
        buffer.seek(0)
        with Image.open(buffer) as compressed:
            out = compressed.convert("RGB")
    return out


def eval_transform(pre: Preprocess) -> EvalTransform:
    return EvalTransform(pre)


def train_transform(pre: Preprocess) -> TrainTransform:
    """Random views drawn from torch's generator: seed it (torch.manual_seed) for repeatable views."""
    return TrainTransform(pre)


def balanced_views(counts: dict[str, int], views: int) -> dict[str, int]:
    """Augmented views per image for each label, so every label contributes about views * max(counts).

    The largest class gets `views` per image, a class half its size twice as many: the classifier then sees
    the classes about equally often without repeating the very same pixels. A label without images gets 0.
    """
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}")
    largest = max(counts.values(), default=0)
    return {label: max(1, round(views * largest / n)) if n > 0 else 0 for label, n in counts.items()}
