"""Grad-CAM without torch, and the heat-map overlay shown beside the photo.

The embedding is the spatial mean of the last conv stage (`feature_map` [C, h, w]), so the gradient of a
class score with respect to any feature-map cell is the gradient with respect to that channel of the
embedding divided by h*w. Grad-CAM's channel weights (the spatial mean of those gradients) are therefore
the head's gradient times 1/(h*w): one small backward pass through the head, no autograd needed.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from scalpcheck.i18n import N_
from scalpcheck.preprocess import as_rgb
from scalpcheck.serve.head import Head

# The heat map in words, for readers who cannot see it: where in a 3 x 3 grid over the photo it is strongest.
FOCUS = {
    "top-left": N_("The model weighed the top left of the photo most."),
    "top": N_("The model weighed the top of the photo most."),
    "top-right": N_("The model weighed the top right of the photo most."),
    "left": N_("The model weighed the left of the photo most."),
    "centre": N_("The model weighed the centre of the photo most."),
    "right": N_("The model weighed the right of the photo most."),
    "bottom-left": N_("The model weighed the bottom left of the photo most."),
    "bottom": N_("The model weighed the bottom of the photo most."),
    "bottom-right": N_("The model weighed the bottom right of the photo most."),
    "spread": N_("The model weighed the whole photo about evenly."),
    "none": N_("Nothing in the photo raised the score of this result."),
}
_GRID = (
    ("top-left", "top", "top-right"),
    ("left", "centre", "right"),
    ("bottom-left", "bottom", "bottom-right"),
)
# The strongest ninth must hold this share of the heat to be named; an even spread gives each ninth 0.11.
FOCUS_SHARE = 0.2

# Control points of matplotlib's "inferno" colour map: perceptually uniform, still ordered in greyscale and
# for colour-blind readers. Low values are nearly transparent in the overlay, so its dark end rarely shows.
_INFERNO = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float32,
)


def grad_cam(head: Head, embedding: np.ndarray, feature_map: np.ndarray, class_index: int) -> np.ndarray:
    """Where in the feature map the evidence for `class_index` lies: float32 [h, w] in 0..1.

    All zeros when nothing in the image raises that class's score (a ReLU of only negative evidence).
    """
    channels, h, w = feature_map.shape
    if channels != embedding.shape[0]:
        raise ValueError(f"feature map has {channels} channels, the embedding {embedding.shape[0]}")
    weights = head.class_gradient(embedding, class_index) / np.float32(h * w)
    cam = np.maximum(np.tensordot(weights, feature_map, axes=1), 0)
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).astype(np.float32)


def focus(heatmap: np.ndarray) -> str:
    """The key of FOCUS that says where `heatmap` (Grad-CAM over the photo) is strongest."""
    total = float(heatmap.sum())
    if total <= 0:
        return "none"
    h, w = heatmap.shape
    # Each cell repeated 3 x 3 times: the ninths then have equal areas whatever the map's size (7 x 7).
    fine = np.repeat(np.repeat(heatmap, 3, axis=0), 3, axis=1)
    mass = fine.reshape(3, h, 3, w).sum(axis=(1, 3)) / (9 * total)
    row, col = np.unravel_index(int(mass.argmax()), mass.shape)
    return _GRID[row][col] if mass[row, col] >= FOCUS_SHARE else "spread"


def overlay(image: Image.Image, heatmap: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """The heat map over the photo: hot regions tinted up to `alpha`, cold ones left as they are.

    The map (7 x 7 cells for a 224 px EfficientNet) is upsampled bicubically to the photo's size. The
    tint's opacity is `alpha` times the square root of the heat, so the photo stays readable where the
    model did not look while moderately hot regions still show. That square root is taken per pixel and
    kept in 256 levels, from which colour and opacity are table look-ups and the blend is Pillow's: far
    cheaper than computing them per pixel in floating point, for the same picture.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    heat = Image.fromarray(np.asarray(heatmap, np.float32), "F").resize(image.size, Image.Resampling.BICUBIC)
    root = np.sqrt(np.clip(np.asarray(heat), 0, 1))
    levels = Image.fromarray((root * 255 + 0.5).astype(np.uint8))
    colour, opacity = _lookup_tables(alpha)
    tint = Image.merge("RGB", [levels.point(table) for table in colour])
    return Image.composite(tint, as_rgb(image), levels.point(opacity))


@functools.lru_cache(maxsize=8)
def _lookup_tables(alpha: float) -> tuple[tuple[list[int], ...], list[int]]:
    """For each of the 256 levels of the heat's square root: the colour map's red, green and blue at that
    heat, and the tint's opacity (0..255)."""
    root = np.arange(256) / 255
    stops = np.linspace(0, 1, len(_INFERNO))
    colour = tuple(np.round(np.interp(root**2, stops, _INFERNO[:, c])).astype(int).tolist() for c in range(3))
    opacity = np.round(255 * alpha * root).astype(int).tolist()
    return colour, opacity
