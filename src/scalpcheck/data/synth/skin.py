"""The scalp skin: a base tone from the whole human range, smooth tone variation, grain, pores and follicles.

The skin is built as CIELAB planes so that lesions (paler alopecia patches, red psoriasis plaques, the
erythema of folliculitis) can change lightness and redness in a perceptual space before the one
conversion to RGB; grain, pores and follicle openings are then multiplied in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpcheck.data.synth.canvas import Canvas, blur, lab_to_rgb, smooth_field

# Lightness L* of scalp skin from very dark to very light; a* (redness) and b* (yellowness) as in
# colorimetric surveys of human skin. L* is drawn uniformly so dark and light skin are equally common.
SKIN_L = (30.0, 76.0)
SKIN_A = (6.0, 14.0)
SKIN_B = (9.0, 20.0)


def sample_tone(rng: np.random.Generator) -> tuple[float, float, float]:
    return (float(rng.uniform(*SKIN_L)), float(rng.uniform(*SKIN_A)), float(rng.uniform(*SKIN_B)))


@dataclass
class Skin:
    """Lab planes of the skin plus where its texture is normal (1) or smoothed (alopecia patches: < 1)."""

    lab: np.ndarray  # [size, size, 3] float32
    texture: np.ndarray  # [size, size] float32

    @property
    def lightness(self) -> np.ndarray:
        return self.lab[..., 0]


def base_skin(rng: np.random.Generator, canvas: Canvas, tone: tuple[float, float, float]) -> Skin:
    """The tone with smooth low-frequency variation in lightness, redness and yellowness."""
    n = canvas.size
    lab = np.empty((n, n, 3), np.float32)
    lab[..., 0] = tone[0] + rng.uniform(1.5, 4.0) * smooth_field(rng, n, int(rng.integers(2, 6)))
    lab[..., 1] = tone[1] + rng.uniform(0.5, 2.5) * smooth_field(rng, n, int(rng.integers(3, 8)))
    lab[..., 2] = tone[2] + rng.uniform(0.5, 1.5) * smooth_field(rng, n, int(rng.integers(2, 6)))
    return Skin(lab=lab, texture=np.ones((n, n), np.float32))


def _dots(canvas: Canvas, xy: np.ndarray, depth: np.ndarray, radius_ref_px: float) -> np.ndarray:
    """Soft round dots of the given peak depth at relative positions, as one [size, size] map."""
    n = canvas.size
    sigma = max(0.5, radius_ref_px * canvas.px)
    impulses = np.zeros((n, n), np.float32)
    ij = np.floor(xy * n).astype(np.int64)
    inside = np.all((ij >= 0) & (ij < n), axis=1)
    np.add.at(impulses, (ij[inside, 1], ij[inside, 0]), depth[inside] * np.float32(2 * np.pi * sigma**2))
    return blur(impulses, sigma)


def finish_skin(
    rng: np.random.Generator, canvas: Canvas, skin: Skin, follicles: np.ndarray, follicle_depth: np.ndarray
) -> np.ndarray:
    """RGB skin (float32 0..1) with fine grain, pores and follicle openings (small darker dots)."""
    n = canvas.size
    rgb = lab_to_rgb(skin.lab)
    grain = blur(rng.standard_normal((n, n), dtype=np.float32), 0.6 * canvas.px)
    grain *= np.float32(rng.uniform(0.03, 0.07))
    pores_xy = rng.random((int(rng.integers(300, 800)), 2), dtype=np.float32)
    pores = _dots(canvas, pores_xy, rng.uniform(0.08, 0.2, len(pores_xy)).astype(np.float32), 0.7)
    openings = _dots(canvas, follicles, follicle_depth.astype(np.float32), 1.1)
    shade = 1.0 + (grain - pores - openings) * skin.texture
    rgb *= np.clip(shade, 0.2, 1.5)[..., None]
    return rgb
