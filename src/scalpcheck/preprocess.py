"""Model-input preprocessing shared by training and serving, written once without torch.

Training wraps these functions after its augmentations; serving calls them directly. Keeping one copy
means an exported model always sees at serving time exactly what it saw in training.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


ColorSpace = Literal["rgb", "hsv"]  # hsv: PIL's HSV, each channel scaled to 0..1 like RGB


@dataclass(frozen=True)
class Preprocess:
    """What a model's input is made of; part of its bundle's card, so serving reads it from the model."""

    input_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    color_space: ColorSpace = "rgb"
    interpolation: Literal["bicubic", "bilinear"] = "bicubic"
    resize: Literal["center_square"] = "center_square"  # the largest centred square, then scaled


def as_rgb(img: Image.Image) -> Image.Image:
    """The image in RGB: itself when it already is (convert() would copy it all the same)."""
    return img if img.mode == "RGB" else img.convert("RGB")


def center_square(img: Image.Image) -> Image.Image:
    """The largest centred square: the model sees the middle of the photo undistorted."""
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return img if w == h else img.crop((left, top, left + side, top + side))


def fit_square(img: Image.Image, size: int, interpolation: str = "bicubic") -> Image.Image:
    img = center_square(as_rgb(img))
    if img.size != (size, size):
        img = img.resize((size, size), _RESAMPLE[interpolation], reducing_gap=3.0)
    return img


def to_array(img: Image.Image, pre: Preprocess) -> np.ndarray:
    """An image already at the input size -> float32 [3, H, W]: colour space, 0..1, normalisation."""
    if img.size != (pre.input_size, pre.input_size):
        raise ValueError(f"expected a {pre.input_size} px square image, got {img.size}")
    img = img.convert("HSV") if pre.color_space == "hsv" else as_rgb(img)
    pixels = np.asarray(img)
    tables = _normalised_levels(tuple(pre.mean), tuple(pre.std))
    return np.stack([tables[c][pixels[..., c]] for c in range(3)])


@functools.lru_cache(maxsize=16)
def _normalised_levels(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """[3, 256]: (level / 255 - mean) / std per channel, in float32.

    The same float32 arithmetic as on every pixel, done once per level: looking the pixels up gives
    identical numbers for less work (a serving worker does it for every photo).
    """
    levels = np.arange(256, dtype=np.float32) * np.float32(1 / 255)
    return (levels - np.asarray(mean, np.float32)[:, None]) / np.asarray(std, np.float32)[:, None]


def preprocess(img: Image.Image, pre: Preprocess) -> np.ndarray:
    return to_array(fit_square(img, pre.input_size, pre.interpolation), pre)
