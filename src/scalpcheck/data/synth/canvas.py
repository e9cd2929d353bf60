"""Drawing helpers shared by every layer of a phantom: the canvas, smooth random fields, colour, soft shapes.

Layers work in relative coordinates (the frame is the unit square) so that a phantom looks the same at
any --size; the canvas turns them into pixels. Hair is drawn on a supersampled copy: OpenCV's line
widths come in steps of two pixels and its anti-aliased thick lines are slow, so strands are drawn
with plain (aliased) lines three times larger and averaged down, which anti-aliases them and makes
their widths finer-grained, at a quarter of the cost.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4  # fixed-point bits of OpenCV drawing coordinates: 1/16 px precision for thin curved strands


@dataclass(frozen=True)
class Canvas:
    size: int  # output side in pixels

    @property
    def supersample(self) -> int:
        """How much larger the hair is drawn; a strand is many pixels wide at large sizes, so less."""
        return 3 if self.size <= 512 else 2 if self.size <= 1024 else 1

    @property
    def px(self) -> float:
        """Pixels per 'reference pixel': sizes in the layers are given as if the image were 256 px wide."""
        return self.size / 256

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates in relative units, each [size, size] float32 (shared: do not modify)."""
        return _grid(self.size)


@functools.lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = np.meshgrid(c, c)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def fixed_point(points: np.ndarray, scale: float) -> np.ndarray:
    """Relative coordinates -> OpenCV's int32 fixed-point pixel coordinates (see SHIFT)."""
    return np.round(points * (scale * (1 << SHIFT))).astype(np.int32)


def smooth_field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A smooth random field of about unit standard deviation whose blobs are size/cells across."""
    grid = rng.standard_normal((cells + 1, cells + 1), dtype=np.float32)
    field = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return field / (float(field.std()) + 1e-6)


@dataclass(frozen=True)
class Cells:
    """A Voronoi tiling of the frame into polygonal cells: the skin's cells and a plaque's scale flakes."""

    label: np.ndarray  # [size, size] int32: the cell of each pixel, 0 .. count - 1
    count: int
    edge: np.ndarray  # [size, size] float32 0..1: the borders between cells, about a pixel wide
    centre: np.ndarray  # [size, size] float32: distance to the cell's seed over the cell's radius (~0..1)


def cells(rng: np.random.Generator, size: int, across_px: float) -> Cells:
    """Random polygonal cells about across_px pixels across, their seeds on a jittered grid."""
    k = max(2, round(size / max(across_px, 1.0)))
    jitter = rng.uniform(0.1, 0.9, (2, k, k))
    grid = np.arange(k)
    sx = np.minimum(((grid[None, :] + jitter[0]) * size / k).astype(np.int64), size - 1)
    sy = np.minimum(((grid[:, None] + jitter[1]) * size / k).astype(np.int64), size - 1)
    seeds = np.ones((size, size), np.uint8)
    seeds[sy.ravel(), sx.ravel()] = 0
    dist, label = cv2.distanceTransformWithLabels(
        seeds, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    label -= 1
    edge = np.zeros((size, size), np.float32)
    edge[:, 1:] += label[:, 1:] != label[:, :-1]
    edge[1:, :] += label[1:, :] != label[:-1, :]
    np.minimum(edge, 1, out=edge)
    return Cells(label, int(label.max()) + 1, blur(edge, 0.6), dist * np.float32(2 * k / size))


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (L 0..100) -> sRGB 0..1, float32, any leading shape."""
    lab = np.asarray(lab, dtype=np.float32)
    rgb = cv2.cvtColor(lab.reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(lab.shape)
    return np.clip(rgb, 0.0, 1.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    rgb = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
    return cv2.cvtColor(rgb.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    if sigma_px <= 0.05:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT_101)


def blend(base: np.ndarray, colour, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite a colour (or an image) over base where alpha is [H, W] in 0..1 (in place)."""
    a = alpha[..., None]
    base *= 1.0 - a
    base += a * np.asarray(colour, dtype=np.float32)
    return base


@dataclass(frozen=True)
class Light:
    """Where the light comes from (radians) and how directional it is (0: even, 1: a lamp to one side):
    what the camera's light does to the scene's relief, its shadows and highlights."""

    angle: float = 0.0
    relief: float = 1.0
