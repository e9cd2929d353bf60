"""Training-time image transforms: the shared preprocessing, plus augmentation (torchvision transforms v2).

Evaluation uses scalpcheck.preprocess exactly as serving does, so validation and test numbers describe the
model that will be served. Augmentation acts on the PIL image before that same final step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torchvision.transforms import v2

from scalpcheck.preprocess import Preprocess, fit_square, preprocess, to_array

MIN_ZOOM_AREA = 0.6  # random crops keep 60 to 100 % of the photo's area: lesions stay in view
JITTER = 0.2  # brightness and contrast vary by up to 20 %; hue is left alone, redness is a cue


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
    """A random view of the photo: any rotation, flips, zoom, brightness and contrast.

    Top-down photos of the scalp have no "up", so rotations cover the full circle. Rotating a square leaves
    empty corners; the photo is mirrored into a margin first (reflection padding) so the corners hold skin
    and hair rather than black triangles that no real photo has. The zoom keeps the square aspect: a
    stretched photo would distort the round patches and the hair density that define the labels.
    """

    def __init__(self, pre: Preprocess):
        self.pre = pre
        # Work on a square just large enough that the smallest crop needs no upscaling; it also keeps the
        # rotation of a 12 MP photo cheap.
        self.side = math.ceil(pre.input_size / math.sqrt(MIN_ZOOM_AREA))
        margin = math.ceil(self.side * (math.sqrt(2) - 1) / 2)  # covers the corners at a 45 degree rotation
        self.augment = v2.Compose(
            [
                v2.Pad(margin, padding_mode="reflect"),
                v2.RandomRotation(180, interpolation=v2.InterpolationMode.BILINEAR),
                v2.CenterCrop(self.side),
                v2.RandomResizedCrop(
                    pre.input_size,
                    scale=(MIN_ZOOM_AREA, 1.0),
                    ratio=(1.0, 1.0),
                    interpolation=v2.InterpolationMode[pre.interpolation.upper()],
                    antialias=True,
                ),
                v2.RandomHorizontalFlip(),
                v2.RandomVerticalFlip(),
                v2.ColorJitter(brightness=JITTER, contrast=JITTER),
            ]
        )

    def __call__(self, img: Image.Image) -> torch.Tensor:
        square = fit_square(img, self.side, self.pre.interpolation)
        return torch.from_numpy(to_array(self.augment(square), self.pre))


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
