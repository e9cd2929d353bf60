"""The scalp skin: a base tone, smooth tone variation and mottling, grain, pores, follicle openings and,
magnified, the honeycomb network of its pigment.

Seen through a dermoscope (the dermoscope style) the skin is drawn with another texture model: polygonal
cells (a Voronoi tiling) of their own tone with pale centres, the pigment network on their borders
(stronger on darker skin), pinpoint white dots (the eccrine openings dark skin shows) and a few fine,
branching interfollicular vessels. These are drawn only for a style that has them, after everything
else, so the other styles draw exactly what they drew before.

The skin is built as CIELAB planes so that lesions (paler alopecia patches, red psoriasis plaques, the
erythema of folliculitis) can change lightness and redness in a perceptual space before the one
conversion to RGB; grain, pores and follicle openings are then multiplied in. A style may posterise the
planes (flat, illustrated skin): lesions painted into them are then flat too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from scalpcheck.data.synth.canvas import (
    SHIFT,
    Canvas,
    blur,
    cells,
    fixed_point,
    lab_to_rgb,
    rgb_to_lab,
    smooth_field,
)
from scalpcheck.data.synth.skintone import L_RANGE

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
    # the dermoscope's texture model (0: none)
    cells: Range = (0.0, 0.0)  # size of the skin's polygonal cells, reference px
    cell_tone: Range = (0.0, 0.0)  # their tone's spread, a share of the skin's brightness
    cell_network: Range = (0.0, 0.0)  # darkness of the pigment network on their borders (dark skin: more)
    white_dots: Range = (0.0, 0.0)  # pinpoint white dots in view (their contrast grows with darker skin)
    vessels: Range = (0.0, 0.0)  # fine branching vessels in view


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
    cells: float = 0.0
    cell_tone: float = 0.0
    cell_network: float = 0.0
    white_dots: int = 0
    vessels: int = 0


def sample_skin(rng: np.random.Generator, ranges: SkinRanges, tone: tuple[float, float, float]) -> SkinLook:
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    look = SkinLook(
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
    if ranges.cells[1] <= 0:
        return look
    return replace(
        look,
        cells=u(ranges.cells),
        cell_tone=u(ranges.cell_tone),
        cell_network=u(ranges.cell_network),
        white_dots=int(rng.integers(int(ranges.white_dots[0]), int(ranges.white_dots[1]) + 1)),
        vessels=int(rng.integers(int(ranges.vessels[0]), int(ranges.vessels[1]) + 1)),
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
    if look.cells:
        shade += _dermoscopic(rng, canvas, look) * skin.texture
    rgb *= np.clip(shade, 0.2, 1.5)[..., None]
    return rgb


def _dermoscopic(rng: np.random.Generator, canvas: Canvas, look: SkinLook) -> np.ndarray:
    """The dermoscope's skin texture as a change of brightness [size, size]: cells, network, white dots."""
    n = canvas.size
    dark = 1 - float(np.clip((look.tone[0] - L_RANGE[0]) / (L_RANGE[1] - L_RANGE[0]), 0, 1))
    tiles = cells(rng, n, look.cells * canvas.px)
    tone = rng.normal(0, look.cell_tone, tiles.count).astype(np.float32)[tiles.label]
    pale = np.float32(0.5 * look.cell_network) * np.clip(1 - tiles.centre, 0, 1)  # pale cell centres
    network = np.float32(look.cell_network * (0.4 + 0.6 * dark)) * tiles.edge
    dots_xy = rng.random((look.white_dots, 2), dtype=np.float32)
    dots = _dots(canvas, dots_xy, rng.uniform(0.5, 1.0, look.white_dots).astype(np.float32), 0.7)
    return tone + pale - network + np.float32(0.05 + 0.35 * dark) * dots


def paint_vessels(rng: np.random.Generator, canvas: Canvas, skin: Skin, look: SkinLook) -> None:
    """A few fine, branching red vessels between the follicles (in place, on the Lab planes)."""
    if not look.vessels:
        return
    n = canvas.size
    mask = np.zeros((n, n), np.uint8)
    lines = []
    for _ in range(look.vessels):
        start = rng.random(2)
        heading = rng.uniform(0, 2 * np.pi)
        for branch in range(int(rng.integers(1, 4))):
            turns = np.cumsum(rng.normal(0, 0.5, 7)) + heading + branch * rng.choice([-0.8, 0.8])
            steps = rng.uniform(0.01, 0.03, (7, 1)) * np.stack([np.cos(turns), np.sin(turns)], axis=1)
            lines.append(fixed_point(start + np.cumsum(steps, axis=0), n))
    cv2.polylines(mask, lines, False, 255, 1, cv2.LINE_AA, SHIFT)
    vessel = blur(mask.astype(np.float32) / 255, 0.4 * canvas.px)
    strength = rng.uniform(3, 9)
    skin.lab[..., 1] += strength * vessel
    skin.lab[..., 0] -= 0.4 * strength * vessel
