"""The cues of the scalp-condition labels: alopecia patches, psoriasis plaques and folliculitis pustules.

Each lesion works in two places: on the skin's Lab planes before the hair is drawn (colour under the
strands) and, where the real lesion lies on top of the hair, over the drawn strands (pustules, the
thick silvery scale of a plaque). Where lesions are, how large and how many is the label's (labels.py)
and the same in every style; how they are rendered (border sharpness, colour, texture, relief) is
drawn from the style's LesionRanges, always inside what keeps the cue.

The dermoscope style has lesion models of its own (`model="dermoscopy"`): a plaque is a union of round
blobs with a flaky rim, red dotted vessels in a regular pattern and scale in polygonal flakes (a Voronoi
tiling) with cracks between them; an alopecia patch shows yellow dots in its empty follicle openings; a
pustule has a honey-coloured crust at its centre. Sizes, counts and places are drawn as in every style.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from scalpcheck.data.synth.canvas import Canvas, Light, blur, cells, lab_to_rgb, smooth_field
from scalpcheck.data.synth.hair import Follicles, Strands, bezier_strands, comb_direction
from scalpcheck.data.synth.head import SHADES, Head
from scalpcheck.data.synth.skin import Skin
from scalpcheck.data.synth.skintone import L_RANGE

Range = tuple[float, float]


@dataclass(frozen=True)
class LesionRanges:
    """How a style renders the lesions."""

    patch_pale: Range = (3.0, 8.0)  # L* a bald patch is paler than the skin around it
    patch_edge: Range = (0.4, 1.2)  # width of its border, reference px: sharply bordered
    patch_smooth: Range = (0.3, 0.6)  # how much of the skin's texture it loses
    patch_wobble: Range = (0.0, 0.04)  # how far its outline departs from an ellipse
    plaque_red: Range = (22.0, 34.0)  # a* a plaque is redder (on light skin; less on dark)
    plaque_rough: Range = (0.15, 0.3)  # how irregular its outline is
    plaque_edge: Range = (0.6, 0.6)  # blur of its border, reference px: well demarcated
    scale_cells: Range = (22, 34)  # scale plates across the frame
    scale_cover: Range = (0.3, 0.7)  # share of the plaque under scale; the rest shows red
    scale_lightness: Range = (80.0, 91.0)
    pustule_halo: Range = (1.3, 1.7)  # reach of the red halo, bump radii
    pustule_core: Range = (0.55, 0.75)  # pustule radius, bump radii
    dome: float = 1.0  # shading of the pustule's dome: 0 flat
    model: str = "plain"  # or "dermoscopy": the dermoscope's plaque, patch and pustule models
    vessel_spacing: Range = (4.0, 7.0)  # dotted vessels of a plaque, reference px apart (dermoscopy)
    flake_size: Range = (6.0, 14.0)  # scale flakes across, reference px (dermoscopy)
    yellow_dots: Range = (0.3, 0.8)  # share of a patch's empty follicles holding a yellow dot (dermoscopy)
    crust: Range = (0.3, 0.5)  # crust radius, a share of the pustule's (dermoscopy)


PLAIN = LesionRanges()


def _light_skin_share(skin_lightness: float) -> float:
    """0 for the darkest skin, 1 for the lightest: redness shows less on dark skin."""
    return float(np.clip((skin_lightness - L_RANGE[0]) / (L_RANGE[1] - L_RANGE[0]), 0, 1))


# --- alopecia areata ------------------------------------------------------------------------------------


RIM = 0.8  # broken hairs of a patch stay outside this share of its radius


@dataclass(frozen=True)
class Patch:
    centre: tuple[float, float]
    radii: tuple[float, float]  # semi-axes, frame widths
    angle: float  # radians
    wobble: tuple[tuple[float, int, float], ...] = ()  # (amplitude, lobes, phase) of the outline


def sample_patches(rng: np.random.Generator, wobble: Range = (0.0, 0.0)) -> tuple[Patch, ...]:
    """One to three round or oval patches, 15 to 45 % of the width across (later ones smaller).

    A wobbly outline reaches `wobble` past its ellipse at most, so the diameter leaves that much room.
    """
    patches = []
    for k in range(int(rng.integers(1, 4))):
        amp = float(rng.uniform(*wobble))
        low, high = 0.15 * (1 + amp), 0.45 * (1 - amp)
        diameter = low + ((high - low) if k == 0 else (high - low) / 2) * rng.beta(1.5, 1.2)
        aspect = rng.uniform(0.65, 1.0)
        lobes = rng.integers(2, 6, 2)
        share = rng.dirichlet((1, 1))
        patches.append(
            Patch(
                centre=(float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))),
                radii=(float(diameter / 2), float(diameter / 2 * aspect)),
                angle=float(rng.uniform(0, np.pi)),
                wobble=tuple(
                    (amp * float(w), int(k), float(rng.uniform(0, 2 * np.pi)))
                    for w, k in zip(share, lobes, strict=True)
                ),
            )
        )
    return tuple(patches)


def inside_measure(patches: tuple[Patch, ...], xy: np.ndarray) -> np.ndarray:
    """Normalised squared radius minus one, minimum over patches: negative inside a patch."""
    best = np.full(xy.shape[:-1], np.inf, np.float32)
    for p in patches:
        d = xy - np.asarray(p.centre, np.float32)
        c, s = np.cos(p.angle), np.sin(p.angle)
        u = (d[..., 0] * c + d[..., 1] * s) / p.radii[0]
        v = (-d[..., 0] * s + d[..., 1] * c) / p.radii[1]
        rim = 1.0
        if p.wobble:
            theta = np.arctan2(v, u)
            rim = 1 + sum(amp * np.sin(k * theta + phase) for amp, k, phase in p.wobble)
        best = np.minimum(best, (u**2 + v**2) / rim**2 - 1)
    return best


def patch_mask(canvas: Canvas, patches: tuple[Patch, ...], edge_px: float) -> np.ndarray:
    """The patches as a float32 [size, size] mask whose border is edge_px (reference px) wide."""
    x, y = canvas.grid()
    f = inside_measure(patches, np.stack([x, y], axis=-1))
    # near the rim f is about twice the distance outside it in radii; the smallest radius is the scale
    scale = min(min(p.radii) for p in patches) * canvas.size / 2
    return np.clip(0.5 - f * scale / max(edge_px * canvas.px, 0.5), 0, 1).astype(np.float32)


def paint_patches(
    rng: np.random.Generator, canvas: Canvas, skin: Skin, patches: tuple[Patch, ...], ranges: LesionRanges
) -> np.ndarray:
    """Sharply bordered smooth skin, a little paler, without follicle openings or grain; the mask."""
    alpha = patch_mask(canvas, patches, rng.uniform(*ranges.patch_edge))
    skin.lab[..., 0] += rng.uniform(*ranges.patch_pale) * alpha
    skin.lab[..., 1] -= rng.uniform(1, 3) * alpha
    skin.texture *= 1 - rng.uniform(*ranges.patch_smooth) * alpha
    return alpha


def clear_patches(follicles: Follicles, strands: Strands, patches: tuple[Patch, ...]) -> Strands:
    """No hair inside a patch, normal hair right up to its rim.

    A strand that reaches a patch ends at the rim. One rooted inside is not simply removed, which
    would leave a bare streak downstream of the patch in combed hair: its part beyond the patch stays,
    drawn from its tip back to where it leaves the patch.
    """
    follicles.hairs[inside_measure(patches, follicles.xy) < 0] = 0
    f = inside_measure(patches, strands.points)  # (N, P)
    inside = f < 0
    rooted_inside = inside[:, 0]
    keep = ~rooted_inside | ~inside.all(axis=1)
    strands, f, inside, rooted_inside = strands.take(keep), f[keep], inside[keep], rooted_inside[keep]
    strands.points[rooted_inside] = strands.points[rooted_inside, ::-1]
    f[rooted_inside], inside[rooted_inside] = f[rooted_inside, ::-1], inside[rooted_inside, ::-1]
    cut = np.flatnonzero(inside.any(axis=1))
    k = np.argmax(inside[cut], axis=1)
    cut, k = cut[k > 0], k[k > 0]  # k = 0: both ends inside, only a loop outside; it goes below
    before, after = f[cut, k - 1], f[cut, k]
    t = (before / (before - after))[:, None]
    a, b = strands.points[cut, k - 1], strands.points[cut, k]
    strands.points[cut, k] = a + t * (b - a)
    strands.count[cut] = np.minimum(strands.count[cut], k + 1)
    return strands.take(~inside[:, 0])


def rim_stubs(rng: np.random.Generator, head: Head, patches: tuple[Patch, ...]) -> Strands:
    """A few short broken hairs just inside the rim (exclamation-mark hairs), lying as the hair is combed."""
    rim: list[tuple[float, float]] = []
    for p in patches:
        for _ in range(int(rng.integers(0, 4))):
            phi = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(0.88, 0.97)
            u, v = r * p.radii[0] * np.cos(phi), r * p.radii[1] * np.sin(phi)
            c, s = np.cos(p.angle), np.sin(p.angle)
            rim.append((p.centre[0] + u * c - v * s, p.centre[1] + u * s + v * c))
    n = len(rim)
    roots = np.asarray(rim, np.float32).reshape(n, 2)
    shortest = min(min(p.radii) for p in patches) if patches else 0.0
    stubs = bezier_strands(
        rng,
        roots,
        comb_direction(head, roots) + rng.normal(0, 0.3, n),
        rng.uniform(0.05, 0.1, n) * shortest,  # short: they stay at the rim
        head.width * rng.uniform(1.0, 1.4, n),
        np.zeros(n, np.int64),
        0.15,
        head.points,
    )
    # none deeper than the rim of any patch (one at the rim of a patch may lie in another that overlaps it)
    return stubs.take(inside_measure(patches, stubs.points).min(axis=1) > RIM**2 - 1)


def paint_yellow_dots(
    rng: np.random.Generator,
    canvas: Canvas,
    skin: Skin,
    follicles: Follicles,
    patches: tuple[Patch, ...],
    mask: np.ndarray,
    ranges: LesionRanges,
) -> None:
    """Yellow dots in a share of the empty follicle openings inside the patches (keratin plugs, as a
    dermoscope shows alopecia areata): small round yellowish dots, lighter than the pale skin around.

    The openings are the patch's lost hairs' follicles and, since a head of long hair has few roots in
    view, follicular units on a jittered grid 7 to 12 reference px apart: the follicle pattern shows.
    """
    spacing = rng.uniform(7, 12) / 256
    k = int(np.ceil(1 / spacing))
    grid = (np.stack(np.meshgrid(np.arange(k), np.arange(k)), axis=-1).reshape(-1, 2) + 0.5) / k
    units = grid + rng.uniform(-0.35, 0.35, grid.shape) * spacing
    openings = np.concatenate([follicles.xy, units.astype(np.float32)])
    inside = inside_measure(patches, openings) < -0.05
    xy = openings[inside & (rng.random(len(openings)) < rng.uniform(*ranges.yellow_dots))]
    n = canvas.size
    sigma = max(0.5, rng.uniform(0.9, 1.5) * canvas.px)
    impulses = np.zeros((n, n), np.float32)
    ij = np.clip(np.floor(xy * n).astype(np.int64), 0, n - 1)
    np.add.at(impulses, (ij[:, 1], ij[:, 0]), rng.uniform(0.7, 1.0, len(xy)).astype(np.float32))
    dots = np.minimum(blur(impulses * np.float32(2.5 * np.pi * sigma**2), sigma), 1)
    step = max(1, n // 128)  # the patch's median lightness, from a subsample
    lightness = float(np.median(skin.lab[::step, ::step, 0][mask[::step, ::step] > 0.5]))
    target = np.asarray([min(lightness + rng.uniform(6, 14), 88), 5.0, rng.uniform(32, 48)], np.float32)
    skin.lab += (rng.uniform(0.75, 0.95) * dots)[..., None] * (target - skin.lab)


# --- psoriasis ------------------------------------------------------------------------------------------


def plaque_mask(rng: np.random.Generator, canvas: Canvas, ranges: LesionRanges = PLAIN) -> np.ndarray:
    """One or more irregular, well-demarcated plaques covering 10 to 50 % of the image (float32 0..1)."""
    x, y = canvas.grid()
    field = np.zeros_like(x)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.15, 0.85, 2)
        sx, sy = rng.uniform(0.1, 0.3, 2)
        a = rng.uniform(0, np.pi)
        u = (x - cx) * np.cos(a) + (y - cy) * np.sin(a)
        v = -(x - cx) * np.sin(a) + (y - cy) * np.cos(a)
        field = np.maximum(field, np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2)))
    n = canvas.size
    rough = smooth_field(rng, n, int(rng.integers(4, 7))) + 0.5 * smooth_field(
        rng, n, int(rng.integers(10, 16))
    )
    field += rng.uniform(*ranges.plaque_rough) * rough
    step = max(1, n // 256)  # the quantile of a subsample is exact enough and keeps 4096 px fast
    area = 0.10 + 0.40 * rng.beta(1.5, 1.2)  # 10 to 50 % of the image, more often large than small
    threshold = np.quantile(field[::step, ::step], 1 - area)
    mask = np.where(field > threshold, np.uint8(255), np.uint8(0))
    return blur(mask.astype(np.float32) / 255, rng.uniform(*ranges.plaque_edge) * canvas.px)


BLOB_GRID = 64  # the blob field is smooth: computed at this size, then enlarged


def blob_plaque_mask(rng: np.random.Generator, canvas: Canvas, ranges: LesionRanges) -> np.ndarray:
    """Plaques as unions of round blobs in one to three clusters, their rim made flaky by fine noise:
    one or more well-demarcated plaques covering 10 to 50 % of the image (float32 0..1)."""
    x, y = Canvas(BLOB_GRID).grid()
    field = np.full_like(x, -np.inf)
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform(0.2, 0.8, 2)
        spread = rng.uniform(0.05, 0.18)
        for _ in range(int(rng.integers(3, 10))):
            bx, by = centre + rng.normal(0, spread, 2)
            radius = rng.uniform(0.05, 0.15)
            field = np.maximum(field, 1 - np.hypot(x - bx, y - by) / radius)
    n = canvas.size
    flaky = smooth_field(rng, n, int(rng.integers(30, 60)))
    field = np.asarray(cv2.resize(field, (n, n), interpolation=cv2.INTER_CUBIC), np.float32)
    field += np.float32(rng.uniform(*ranges.plaque_rough) * 0.5) * flaky
    step = max(1, n // 256)
    area = 0.10 + 0.40 * rng.beta(1.5, 1.2)  # 10 to 50 % of the image, more often large than small
    threshold = np.quantile(field[::step, ::step], 1 - area)
    mask = np.where(field > threshold, np.float32(1), np.float32(0))
    return blur(mask, rng.uniform(*ranges.plaque_edge) * canvas.px)


@dataclass
class Overlay:
    """A layer to lay over the hair once it is drawn."""

    alpha: np.ndarray  # [size, size] float32 0..1
    rgb: np.ndarray  # [size, size, 3] float32


def _facing(gx: np.ndarray, gy: np.ndarray, light: Light) -> np.ndarray:
    """How much a slope faces the light: positive towards it."""
    return (gx * np.cos(light.angle) + gy * np.sin(light.angle)) * light.relief


def paint_plaque(
    rng: np.random.Generator,
    canvas: Canvas,
    skin: Skin,
    mask: np.ndarray,
    skin_lightness: float,
    ranges: LesionRanges,
    light: Light,
    flaky: bool = False,
) -> list[Overlay]:
    """Raised-looking red to pink skin covered with silvery-white scale; `flaky` is the dermoscope's
    plaque, dotted with red vessels in a regular pattern, its scale in polygonal flakes.

    Returns what of the plaque shows over the hair: the raised plaque reaches up among the strands (a
    red veil) and its scale clings to them (a silvery one); the strands stay visible through both.
    """
    share = _light_skin_share(skin_lightness)
    lab = skin.lab
    lab[..., 0] -= rng.uniform(2, 7) * mask
    lab[..., 1] += rng.uniform(*ranges.plaque_red) * (0.5 + 0.5 * share) * mask
    lab[..., 2] -= rng.uniform(1, 6) * mask
    # Raised: the rim facing the light is brighter, the far one darker.
    sigma = 2.5 * canvas.px
    gy, gx = np.gradient(blur(mask, sigma))
    lab[..., 0] += rng.uniform(3, 6) * sigma * 2.5 * _facing(gx, gy, light)
    if flaky:
        _dot_vessels(rng, canvas, mask, lab, share, ranges)
    red = Overlay(alpha=mask * rng.uniform(0.3, 0.5), rgb=lab_to_rgb(lab))
    plaque = _Plaque(canvas, mask, ranges, light)
    thickness, scale_lab, alpha = (_flakes if flaky else _plates)(rng, plaque)
    lab += alpha[..., None] * (scale_lab - lab)
    skin.texture *= 1 - alpha
    # thick scale hides most of the hair under it; thin scale at the red rim lets it through
    return [red, Overlay(alpha=thickness**0.6 * rng.uniform(0.5, 0.8), rgb=lab_to_rgb(scale_lab))]


@dataclass(frozen=True)
class _Plaque:
    """Where a plaque's scale is drawn: the frame, the plaque's mask, the style's ranges and the light."""

    canvas: Canvas
    mask: np.ndarray
    ranges: LesionRanges
    light: Light


def _scale_level(
    rng: np.random.Generator, n: int, rise: np.ndarray, mask: np.ndarray, ranges: LesionRanges
) -> float:
    """The rise above which exactly a drawn `scale_cover` share of the plaque is scaled."""
    step = max(1, n // 256)
    sample = rise[::step, ::step][mask[::step, ::step] > 0.5]
    return np.quantile(sample, 1 - rng.uniform(*ranges.scale_cover)) if len(sample) else np.inf


def _plates(rng: np.random.Generator, plaque: _Plaque) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Silvery-white scale in plates about 10 px across, thickest in the middle of the plaque and thinning
    towards its red rim, broken by fine cracks, embossed by the same light as the plaque.

    Returns its thickness, its Lab colour and its opacity."""
    canvas, mask, ranges, light = plaque.canvas, plaque.mask, plaque.ranges, plaque.light
    n = canvas.size
    cells = int(rng.integers(int(ranges.scale_cells[0]), int(ranges.scale_cells[1]) + 1))
    plates = smooth_field(rng, n, cells) + 0.4 * smooth_field(rng, n, 80)
    # thickest where the plates rise and away from the rim
    rise = 0.5 * plates + 1.2 * blur(mask, 5 * canvas.px)
    level = _scale_level(rng, n, rise, mask, ranges)
    thickness = np.clip((rise - level) / 0.3 + 0.5, 0, 1) * mask
    cracks = np.clip(1 - np.abs(smooth_field(rng, n, int(rng.integers(30, 50)))) / 0.15, 0, 1)
    gy, gx = np.gradient(blur(thickness, 0.8 * canvas.px))
    relief = _facing(gx, gy, light) * 12 * canvas.px
    scale_lab = np.empty((*mask.shape, 3), np.float32)
    scale_lab[..., 0] = (
        rng.uniform(*ranges.scale_lightness) + 2 * plates + 6 * relief - 18 * cracks * thickness
    )
    scale_lab[..., 1] = rng.uniform(-1, 1.5)
    scale_lab[..., 2] = rng.uniform(-3, 3)
    return thickness, scale_lab, thickness * rng.uniform(0.8, 0.97)


def _dot_vessels(
    rng: np.random.Generator,
    canvas: Canvas,
    mask: np.ndarray,
    lab: np.ndarray,
    share: float,
    ranges: LesionRanges,
) -> None:
    """Dotted vessels: red dots on a jittered grid, where the plaque is."""
    n = canvas.size
    spacing = rng.uniform(*ranges.vessel_spacing) / 256
    k = int(1 / spacing)
    grid = (np.stack(np.meshgrid(np.arange(k), np.arange(k)), axis=-1).reshape(-1, 2) + 0.5) / k
    xy = grid + rng.normal(0, 0.2 * spacing, grid.shape)
    ij = np.clip(np.floor(xy * n).astype(np.int64), 0, n - 1)
    on = mask[ij[:, 1], ij[:, 0]] > 0.5
    radius = max(0.5, rng.uniform(0.6, 1.1) * canvas.px)
    impulses = np.zeros((n, n), np.float32)
    impulses[ij[on, 1], ij[on, 0]] = np.float32(2 * np.pi * radius**2)
    dots = np.minimum(blur(impulses, radius), 1)
    lab[..., 1] += rng.uniform(12, 22) * (0.6 + 0.4 * share) * dots
    lab[..., 0] -= rng.uniform(5, 12) * dots


def _flakes(rng: np.random.Generator, plaque: _Plaque) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Silvery-white scale in polygonal flakes, thickest in the middle, cracked between the flakes; it hides
    the red under it. Returns its thickness, its Lab colour and its opacity."""
    canvas, mask, ranges, light = plaque.canvas, plaque.mask, plaque.ranges, plaque.light
    n = canvas.size
    flake_px = rng.uniform(*ranges.flake_size) * canvas.px
    flakes = cells(rng, n, flake_px)
    crack = 14 * min(1.0, flake_px / 8)  # cracks a pixel wide: fainter between small flakes
    # each flake's thickness: its own, plus a smooth field averaged over it (scale lies in sheets of
    # flakes, red showing between the sheets), plus how far it lies from the rim (thickest in the middle)
    sheets = smooth_field(rng, n, int(rng.integers(5, 10))).ravel()
    labels = flakes.label.ravel()
    per_flake = np.bincount(labels, sheets, flakes.count) / np.maximum(
        np.bincount(labels, None, flakes.count), 1
    )
    lift = rng.normal(0, 1, flakes.count).astype(np.float32)
    rise = (0.3 * lift + 0.5 * per_flake).astype(np.float32)[flakes.label] + 2 * blur(mask, 6 * canvas.px)
    lift = lift[flakes.label]
    level = _scale_level(rng, n, rise, mask, ranges)
    thickness = np.clip((rise - level) / 0.12 + 0.5, 0, 1) * mask
    gy, gx = np.gradient(blur(thickness, 0.8 * canvas.px))
    relief = _facing(gx, gy, light) * 12 * canvas.px
    scale_lab = np.empty((*mask.shape, 3), np.float32)
    scale_lab[..., 0] = (
        rng.uniform(*ranges.scale_lightness) + 1.5 * lift + 6 * relief - crack * flakes.edge * thickness
    )
    scale_lab[..., 1] = rng.uniform(-1, 1.5)
    scale_lab[..., 2] = rng.uniform(-5, 2)
    return thickness, scale_lab, thickness * rng.uniform(0.88, 0.98)


# --- folliculitis ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pustules:
    centres: np.ndarray  # (K, 2) relative, on follicles
    radii: np.ndarray  # (K,) bump radius, frame widths
    cores: np.ndarray  # (K,) pustule radius as a share of the bump radius
    lab: tuple[float, float, float]  # pus colour
    redness: float
    halo: float = 1.5  # reach of the red halo, bump radii
    crusts: np.ndarray | None = None  # (K,) radius of a crust at the centre, a share of the pustule's
    crust_lab: tuple[float, float, float] = (55.0, 12.0, 32.0)


def sample_pustules(rng: np.random.Generator, follicles: Follicles, ranges: LesionRanges = PLAIN) -> Pustules:
    """5 to 30 bumps 2 to 6 % of the width across, each on a follicle, scattered or in clusters."""
    count = int(round(5 + 25 * rng.beta(1.5, 1.0)))  # 5 to 30, more often many than few
    candidates = follicles.xy[np.all((follicles.xy > 0.04) & (follicles.xy < 0.96), axis=1)]
    if rng.random() < 0.5:
        chosen = rng.choice(len(candidates), size=count, replace=False)
    else:
        clusters = rng.uniform(0.2, 0.8, (int(rng.integers(1, 4)), 2))
        targets = clusters[rng.integers(0, len(clusters), count)] + rng.normal(0, 0.09, (count, 2))
        taken: list[int] = []
        for t in targets:
            d = np.sum((candidates - t) ** 2, axis=1)
            d[taken] = np.inf
            taken.append(int(np.argmin(d)))
        chosen = np.asarray(taken)
    typical = 0.02 + 0.04 * rng.beta(3.0, 1.2)  # anywhere from 2 to 6 % of the width, mostly over 4 %
    diameter = np.clip(typical * rng.uniform(0.8, 1.2, count), 0.02, 0.06)
    pustules = Pustules(
        centres=candidates[chosen].astype(np.float32),
        radii=(diameter / 2).astype(np.float32),
        cores=rng.uniform(*ranges.pustule_core, count).astype(np.float32),
        lab=(float(rng.uniform(78, 90)), float(rng.uniform(0, 6)), float(rng.uniform(22, 38))),
        redness=float(rng.uniform(18, 30)),
        halo=float(rng.uniform(*ranges.pustule_halo)),
    )
    if ranges.model != "dermoscopy":
        return pustules
    crusted = rng.random(count) < rng.uniform(0.5, 1.0)  # not every pustule has crusted yet
    return replace(
        pustules,
        crusts=np.where(crusted, rng.uniform(*ranges.crust, count), 0).astype(np.float32),
        crust_lab=(float(rng.uniform(40, 55)), float(rng.uniform(10, 18)), float(rng.uniform(28, 42))),
    )


def _around(side: int, centre: np.ndarray, reach: float):
    """The pixel window around a relative centre and its pixel coordinates relative to the centre."""
    cx, cy = centre * side
    r = reach * side
    x0, x1 = max(0, int(cx - r)), min(side, int(cx + r) + 2)
    y0, y1 = max(0, int(cy - r)), min(side, int(cy + r) + 2)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), xx + 0.5 - cx, yy + 0.5 - cy


def paint_erythema(skin: Skin, pustules: Pustules, skin_lightness: float) -> None:
    """The inflamed halo on the skin, under the hair."""
    side = skin.lab.shape[0]
    share = _light_skin_share(skin_lightness)
    for c, r in zip(pustules.centres, pustules.radii, strict=True):
        window, dx, dy = _around(side, c, 3.5 * r)
        g = np.exp(-(dx**2 + dy**2) / (2 * (1.6 * r * side) ** 2))
        skin.lab[window + (1,)] += 1.2 * pustules.redness * (0.5 + 0.5 * share) * g
        skin.lab[window + (0,)] -= 4 * g


def draw_pustules(image: np.ndarray, pustules: Pustules, skin_lab: tuple, dome: float, light: Light) -> None:
    """Red raised rims and yellow-white domes over the hair, on a uint8 RGB image in place."""
    side = image.shape[0]
    red = lab_to_rgb(np.asarray([max(skin_lab[0], 40.0), skin_lab[1] + 1.3 * pustules.redness, skin_lab[2]]))
    pus = lab_to_rgb(np.asarray(pustules.lab))
    lx, ly = np.cos(light.angle), np.sin(light.angle)
    crusts, crust_rgb = pustules.crusts, lab_to_rgb(np.asarray(pustules.crust_lab))
    for k, (c, r, core) in enumerate(zip(pustules.centres, pustules.radii, pustules.cores, strict=True)):
        window, dx, dy = _around(side, c, 1.1 * pustules.halo * r)
        rad = r * side
        d = np.sqrt(dx**2 + dy**2)
        patch = image[window].astype(np.float32) / 255
        # the raised red papule, fading into the inflamed skin around it
        halo = 0.85 * np.clip((pustules.halo - d / rad) / 0.9, 0, 1)[..., None]
        patch = patch * (1 - halo) + red * halo
        rc = core * rad
        disc = np.clip(rc - d + 0.5, 0, 1)[..., None]
        bulge = np.sqrt(np.clip(1 - (d / rc) ** 2, 0, 1))[..., None]
        colour = pus * (1 - dome * (0.2 - 0.25 * bulge))
        patch = patch * (1 - disc) + colour * disc
        spot = np.exp(-((dx - 0.4 * rc * lx) ** 2 + (dy - 0.4 * rc * ly) ** 2) / (2 * (0.25 * rc) ** 2))
        patch += (0.35 * dome * light.relief) * (spot * disc[..., 0])[..., None]
        if crusts is not None and crusts[k] > 0:  # a honey-coloured crust at the centre, ragged edged
            theta = np.arctan2(dy, dx)
            ragged = crusts[k] * rc * (1 + 0.15 * np.sin(3 * theta + k) + 0.1 * np.sin(5 * theta + 2 * k))
            crust = np.clip(ragged - d + 0.5, 0, 1)[..., None]
            patch = patch * (1 - crust) + crust_rgb * crust
        image[window] = np.clip(patch * 255 + 0.5, 0, 255).astype(np.uint8)


def emerging_hairs(rng: np.random.Generator, head: Head, pustules: Pustules) -> Strands:
    """The hair of each inflamed follicle, leaving the pustule's centre."""
    n = len(pustules.centres)
    angles = comb_direction(head, pustules.centres) + rng.normal(0, head.jitter, n)
    return bezier_strands(
        rng,
        pustules.centres,
        angles,
        rng.uniform(0.03, 0.12, n),
        0.7 * head.width * rng.lognormal(0, 0.2, n),
        rng.integers(0, SHADES, n),
        head.curl.bend,
        head.points,
    )
