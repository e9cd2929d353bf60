"""The scalp skin: a base tone, smooth tone variation and mottling, grain, pores, follicle openings and,
magnified, the honeycomb network of its pigment.

The skin is built as CIELAB planes so that lesions (paler alopecia patches, red psoriasis plaques, the
erythema of folliculitis) can change lightness and redness in a perceptual space before the one
conversion to RGB; grain, pores and follicle openings are then multiplied in. A style may posterise the
planes (flat, illustrated skin): lesions painted into them are then flat too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpcheck.data.synth.canvas import Canvas, blur, lab_to_rgb, rgb_to_lab, smooth_field

Range = tuple[float, float]


@dataclass(frozen=True)
class SkinRanges:
    """What a style lets the skin's texture be (the tone itself is drawn alike in every style)."""

    variation: Range = (1.5, 4.0)  # L* amplitude of the smooth tone variation
    mottle: Range = (0.8, 2.0)  # L* amplitude of its finer mottling, a few pores across
    grain: Range = (0.03, 0.07)  # fine multiplicative grain
    pores: Range = (300, 800)  # how many pores in view
    pore_depth: Range = (0.08, 0.2)
    pore_size: Range = (0.6, 0.9)  # radius, reference px
    opening_size: Range = (1.0, 1.3)  # follicle opening radius, reference px
    opening_depth: Range = (0.25, 0.45)
    network: Range = (0.0, 0.03)  # darkness of the honeycomb pigment network seen when magnified
    posterise: Range = (0.0, 0.0)  # colour step (CIELAB) of flat, illustrated skin; 0: none


@dataclass(frozen=True)
class SkinLook:
    tone: tuple[float, float, float]  # base Lab
    variation: float
    mottle: float
    grain: float
    pores: int
    pore_depth: float
    pore_size: float
    opening_size: float
    opening_depth: float
    network: float
    posterise: float


def sample_skin(rng: np.random.Generator, ranges: SkinRanges, tone: tuple[float, float, float]) -> SkinLook:
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    return SkinLook(
        tone=tone,
        variation=u(ranges.variation),
        mottle=u(ranges.mottle),
        grain=u(ranges.grain),
        pores=int(rng.integers(int(ranges.pores[0]), int(ranges.pores[1]) + 1)),
        pore_depth=u(ranges.pore_depth),
        pore_size=u(ranges.pore_size),
        opening_size=u(ranges.opening_size),
        opening_depth=u(ranges.opening_depth),
        network=u(ranges.network),
        posterise=u(ranges.posterise),
    )


@dataclass
class Skin:
    """Lab planes of the skin plus where its texture is normal (1) or smoothed (alopecia patches: < 1)."""

    lab: np.ndarray  # [size, size, 3] float32
    texture: np.ndarray  # [size, size] float32

    @property
    def lightness(self) -> np.ndarray:
        return self.lab[..., 0]


def base_skin(rng: np.random.Generator, canvas: Canvas, look: SkinLook) -> Skin:
    """The tone with smooth low-frequency variation in lightness, redness and yellowness."""
    n = canvas.size
    tone = look.tone
    lab = np.empty((n, n, 3), np.float32)
    lab[..., 0] = tone[0] + look.variation * smooth_field(rng, n, int(rng.integers(2, 6)))
    lab[..., 0] += look.mottle * smooth_field(rng, n, int(rng.integers(12, 25)))
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


def posterise(lab: np.ndarray, step: float, centre: tuple[float, float, float]) -> None:
    """Flat colour: each of L*, a*, b* in steps of `step` about the base tone (in place)."""
    c = np.asarray(centre, np.float32)
    lab -= c
    lab /= np.float32(step)
    np.round(lab, out=lab)
    lab *= np.float32(step)
    lab += c


def posterise_rgb(rgb: np.ndarray, step: float, centre: tuple[float, float, float]) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    posterise(lab, step, centre)
    return lab_to_rgb(lab)


def finish_skin(
    rng: np.random.Generator,
    canvas: Canvas,
    skin: Skin,
    look: SkinLook,
    follicles: np.ndarray,
    follicle_depth: np.ndarray,
) -> np.ndarray:
    """RGB skin (float32 0..1) with fine grain, pores and follicle openings (small darker dots)."""
    n = canvas.size
    if look.posterise:
        posterise(skin.lab, look.posterise, look.tone)
    rgb = lab_to_rgb(skin.lab)
    grain = blur(rng.standard_normal((n, n), dtype=np.float32), 0.6 * canvas.px)
    grain *= np.float32(look.grain)
    pores_xy = rng.random((look.pores, 2), dtype=np.float32)
    depth = rng.uniform(0.5, 1.5, len(pores_xy)).astype(np.float32) * np.float32(look.pore_depth)
    pores = _dots(canvas, pores_xy, depth, look.pore_size)
    openings = _dots(
        canvas, follicles, follicle_depth.astype(np.float32) * look.opening_depth, look.opening_size
    )
    shade = 1.0 + (grain - pores - openings) * skin.texture
    if look.network:  # the rete ridges' pigment: darker lines between round pale cells
        lines = np.clip(1 - np.abs(smooth_field(rng, n, int(rng.integers(25, 45)))) / 0.35, 0, 1)
        shade -= np.float32(look.network) * lines * skin.texture
    rgb *= np.clip(shade, 0.2, 1.5)[..., None]
    return rgb
