"""Hair: a combed full head, thinned to the label's density, and how its strands are drawn.

Seen from above, combed hair lies in lanes side by side along the combing direction, each lane a
chain of strands of random length that overlap a little end to end; a share of stray strands cross
the lanes at an angle, and the whole mass bends with a slow flow. Packed like this, the share of
skin a head hides falls in proportion to the hair it loses, as on a real thinning scalp, where
randomly scattered strands would pile up and hide the loss until it is severe.

Thinning (the hair-loss stages) removes strands, in a random race weighted by the thinning pattern,
until exactly the density's share of the full head's ink in the frame is left; the empty follicle
openings stay visible. A stage is therefore the same amount of hair in every photo, whatever the
width, length or colour of the hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scalpcheck.data.synth.canvas import SHIFT, Canvas, fixed_point, lab_to_rgb, to_uint8

# Lab ranges (L*, a*, b*) of natural hair colours; "grey" is a pigmented colour mixed with white hairs.
HAIR_COLOURS: dict[str, tuple[tuple[float, float], ...]] = {
    "black": ((8.0, 16.0), (0.0, 2.0), (-1.0, 3.0)),
    "dark_brown": ((16.0, 24.0), (2.0, 5.0), (4.0, 10.0)),
    "brown": ((25.0, 38.0), (4.0, 9.0), (9.0, 18.0)),
    "blond": ((44.0, 64.0), (2.0, 7.0), (16.0, 30.0)),
    "red": ((32.0, 45.0), (15.0, 26.0), (22.0, 36.0)),
}
WHITE_HAIR = ((78.0, 90.0), (-1.0, 1.0), (0.0, 6.0))
COLOUR_ODDS = {"black": 0.24, "dark_brown": 0.2, "brown": 0.2, "blond": 0.14, "red": 0.09, "grey": 0.13}
# Hair and skin of nearly the same colour make a photo in which no one could judge density; such a pair
# is drawn again. The distance is CIE76 Delta E: very dark skin with black hair (about 25 apart, less in
# lightness than in colour) stays possible.
MIN_CONTRAST = 26.0
POINTS = 16  # samples along each Bezier strand: smooth curves at 256 px
SHADES = (-4.0, -2.0, 0.0, 2.0, 4.0)  # L* steps between strands of one head
WHITE_SHADES = (-3.0, 3.0)
LENGTH_SPREAD = 0.55  # log-normal sigma of strand lengths within an image
WIDTH_SPREAD = 0.3  # log-normal sigma of strand widths within an image
HALF_DIAGONAL = 0.71  # the frame, centred, seen along any combing direction reaches this far
# Strands are drawn with OpenCV's plain 8-connected lines on the supersampled canvas (see canvas.py).
# Measured: thickness 1 covers 0.95 px across, and thickness 2k about 0.95 + 2k px (3 as much as 4).
LINE = cv2.LINE_8
THINNEST_LINE = 0.95


@dataclass(frozen=True)
class HairStyle:
    """Everything about the hair that is the same whatever the label (drawn once per photo)."""

    colour: str
    lab: tuple[float, float, float]
    white_fraction: float  # share of white hairs (grey hair), 0 otherwise
    white_lab: tuple[float, float, float]
    width: float  # median strand width in reference px (at 256 px)
    length: float  # median strand length, frame widths
    comb_angle: float  # radians
    packing: float  # share of a lane's width its strand fills: how closely a full head lies
    jitter: float  # spread of combed strands' angles around their lane, radians
    strays: float  # share of strands that stray across the lanes
    stray_jitter: float  # spread of their angles, radians
    curl: float  # spread of a strand's start and end angles: 0 straight, larger wavy
    flow: tuple[
        tuple[float, float, float, float], ...
    ]  # (amplitude, fu, fv, phase): sideways waves of the mass
    shadow: float  # darkness of the shadow each strand casts on the skin
    shadow_offset: tuple[float, float]  # reference px
    sheen: float  # strength of the specular line along strands


@dataclass(frozen=True)
class Growth:
    """What a label changes about the hair (labels.py): how much is left, where, and how miniaturised."""

    density: float = 1.0  # share of the full cover's hairs that are present
    thinning: float = 0.0  # 0: even; up to 1: that much more loss at `focus`
    focus: tuple[float, float] = (0.5, 0.5)
    focus_radius: float = 0.3
    # Waves (amplitude, fx, fy, phase) of a smooth field that makes the loss uneven, so the scalp shows
    # "in places" rather than through a uniformly thinner veil.
    unevenness: tuple[tuple[float, float, float, float], ...] = ()
    width_factor: float = 1.0
    lighten: float = 0.0  # share of the way from the hair colour to the skin colour
    length_factor: float = 1.0


@dataclass
class Strands:
    points: np.ndarray  # (N, POINTS, 2) float32, relative coordinates
    count: np.ndarray  # (N,) points drawn; a strand cut at the rim of an alopecia patch keeps fewer
    width: np.ndarray  # (N,) reference px
    shade: np.ndarray  # (N,) index into the palette

    def take(self, keep: np.ndarray) -> Strands:
        return Strands(self.points[keep], self.count[keep], self.width[keep], self.shade[keep])

    @staticmethod
    def concat(parts: list[Strands]) -> Strands:
        return Strands(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("points", "count", "width", "shade"))
        )


@dataclass
class Follicles:
    xy: np.ndarray  # (U, 2) relative positions of the full head's follicles (also outside the frame)
    hairs: np.ndarray  # (U,) hairs each still carries (0 once thinning took it)


def _pick_colour(rng: np.random.Generator) -> tuple[str, tuple[float, float, float]]:
    names = list(COLOUR_ODDS)
    name = str(rng.choice(names, p=list(COLOUR_ODDS.values())))
    pigment = str(rng.choice(["black", "dark_brown", "brown"])) if name == "grey" else name
    return name, tuple(float(rng.uniform(*r)) for r in HAIR_COLOURS[pigment])


def sample_style(rng: np.random.Generator, skin_lab: tuple[float, float, float]) -> HairStyle:
    for _ in range(100):
        colour, lab = _pick_colour(rng)
        white_fraction = float(rng.uniform(0.35, 0.95)) if colour == "grey" else 0.0
        white_lab = tuple(float(rng.uniform(*r)) for r in WHITE_HAIR)
        mean = np.add(np.multiply(lab, 1 - white_fraction), np.multiply(white_lab, white_fraction))
        if float(np.linalg.norm(mean - np.asarray(skin_lab))) >= MIN_CONTRAST:
            break
    flow = tuple(
        (float(rng.uniform(0, 0.05)), float(rng.uniform(0.3, 1.2)), float(rng.uniform(-0.3, 0.3)),
         float(rng.uniform(0, 2 * np.pi)))
        for _ in range(2)
    )  # fmt: skip
    light = rng.uniform(0, 2 * np.pi)
    reach = rng.uniform(0.6, 1.8)
    return HairStyle(
        colour=colour,
        lab=lab,
        white_fraction=white_fraction,
        white_lab=white_lab,
        width=float(rng.uniform(1.6, 2.8)),
        length=float(np.exp(rng.uniform(np.log(0.2), np.log(0.8)))),
        comb_angle=float(rng.uniform(0, 2 * np.pi)),
        packing=float(rng.uniform(1.2, 1.35)),
        jitter=float(rng.uniform(0.01, 0.05)),
        strays=float(rng.uniform(0.05, 0.25)),
        stray_jitter=float(rng.uniform(0.2, 0.6)),
        curl=float(rng.uniform(0.02, 0.2)),
        flow=flow,
        shadow=float(rng.uniform(0.25, 0.5)),
        shadow_offset=(float(reach * np.cos(light)), float(reach * np.sin(light))),
        sheen=float(rng.uniform(0.2, 0.5)),
    )


def _sideways(style: HairStyle, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow's sideways displacement of combed hair at (u, v) and its slope along u."""
    shift, slope = np.zeros_like(u), np.zeros_like(u)
    for amp, fu, fv, phase in style.flow:
        arg = 2 * np.pi * (fu * u + fv * v) + phase
        shift += amp * np.sin(arg)
        slope += amp * 2 * np.pi * fu * np.cos(arg)
    return shift, slope


def _to_frame(style: HairStyle, uv: np.ndarray) -> np.ndarray:
    """Comb coordinates (u along the combing direction, v across, origin at the centre) -> frame."""
    u, v = uv[..., 0], uv[..., 1]
    v = v + _sideways(style, u, v)[0]
    c, s = np.cos(style.comb_angle), np.sin(style.comb_angle)
    return np.stack([0.5 + u * c - v * s, 0.5 + u * s + v * c], axis=-1).astype(np.float32)


def comb_direction(style: HairStyle, xy: np.ndarray) -> np.ndarray:
    """The direction (radians) combed hair lies in at frame positions xy."""
    c, s = np.cos(style.comb_angle), np.sin(style.comb_angle)
    dx, dy = xy[:, 0] - 0.5, xy[:, 1] - 0.5
    slope = _sideways(style, dx * c + dy * s, -dx * s + dy * c)[1]
    return (style.comb_angle + np.arctan(slope)).astype(np.float32)


def _controls(
    rng: np.random.Generator,
    roots: np.ndarray,
    angles: np.ndarray,
    lengths: np.ndarray,
    curl: np.ndarray | float,
) -> np.ndarray:
    """Control points (N, 4, 2) of cubic Bezier strands leaving roots along angles, bent by about curl."""
    n = len(roots)
    start = angles + rng.normal(0, 1, n) * curl
    end = angles + rng.normal(0, 1, n) * curl
    chord = angles + rng.normal(0, 1, n) * curl / 2
    unit = lambda a: np.stack([np.cos(a), np.sin(a)], axis=1)  # noqa: E731
    p3 = roots + lengths[:, None] * unit(chord)
    p1 = roots + (lengths / 3)[:, None] * unit(start)
    p2 = p3 - (lengths / 3)[:, None] * unit(end)
    return np.stack([roots, p1, p2, p3], axis=1).astype(np.float32)


def _curves(control: np.ndarray) -> np.ndarray:
    t = np.linspace(0, 1, POINTS, dtype=np.float32)[:, None]
    basis = np.concatenate([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3], axis=1)
    return np.matmul(basis, control)  # (N, POINTS, 2)


def bezier_strands(
    rng: np.random.Generator,
    roots: np.ndarray,
    angles: np.ndarray,
    lengths: np.ndarray,
    widths: np.ndarray,
    shades: np.ndarray,
    curl: float,
) -> Strands:
    """Cubic Bezier strands leaving `roots` along `angles`, bending by up to about `curl` radians."""
    points = _curves(_controls(rng, roots, angles, lengths, curl))
    return Strands(points, np.full(len(points), POINTS), widths.astype(np.float32), shades.astype(np.int64))


def _lanes(rng: np.random.Generator, style: HairStyle, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Roots (u, v) and lengths of a full head combed into lanes across the whole frame."""
    reach = HALF_DIAGONAL + sum(f[0] for f in style.flow)
    lanes = np.arange(-reach, reach, spacing)
    lanes += rng.uniform(-0.25, 0.25, len(lanes)) * spacing
    per_lane = int(np.ceil(2 * HALF_DIAGONAL / (0.7 * style.length * np.exp(-LENGTH_SPREAD)))) + 2
    lengths = np.clip(style.length * rng.lognormal(0, LENGTH_SPREAD, (len(lanes), per_lane)), 0.01, 0.95)
    steps = lengths * rng.uniform(0.7, 1.0, lengths.shape)
    starts = -HALF_DIAGONAL - lengths[:, :1] * rng.random((len(lanes), 1)) + np.cumsum(steps, axis=1) - steps
    used = starts < HALF_DIAGONAL
    v = np.broadcast_to(lanes[:, None], starts.shape)
    return np.stack([starts[used], v[used]], axis=1), lengths[used]


def _ink_in_frame(points: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Area (in frame areas) each strand covers inside the frame: arc length in view times width."""
    seg = np.diff(points, axis=1)
    mid = points[:, :-1] + seg / 2
    in_view = np.all((mid >= 0) & (mid <= 1), axis=2)
    return np.sum(np.linalg.norm(seg, axis=2) * in_view, axis=1) * widths / 256


def _thinning_weight(growth: Growth, xy: np.ndarray) -> np.ndarray:
    """How strongly a hair at xy holds on: lower near the focus of thinning and where the field is low."""
    near = np.exp(-np.sum((xy - np.asarray(growth.focus)) ** 2, axis=-1) / (2 * growth.focus_radius**2))
    w = 1 - growth.thinning * near
    for amp, fx, fy, phase in growth.unevenness:
        w = w * np.exp(amp * np.sin(2 * np.pi * (fx * xy[..., 0] + fy * xy[..., 1]) + phase))
    return np.maximum(w, 1e-6)


def grow(
    rng: np.random.Generator, style: HairStyle, growth: Growth, min_width: float = 0.0
) -> tuple[Follicles, Strands]:
    """The follicles of a full head and the strands in view that the label's growth leaves on them.

    min_width: the finest width (reference px) the canvas draws; finer strands cover that much.
    """
    spacing = max(style.width * np.exp(WIDTH_SPREAD**2 / 2), min_width) / 256 / style.packing
    roots_uv, lengths = _lanes(rng, style, spacing)
    n = len(lengths)
    stray = rng.random(n) < style.strays
    slope = _sideways(style, roots_uv[:, 0], roots_uv[:, 1])[1]
    angles = np.arctan(slope) + rng.normal(0, 1, n) * np.where(stray, style.stray_jitter, style.jitter)
    control_uv = _controls(rng, roots_uv, angles, lengths, np.where(stray, 2 * style.curl, style.curl))
    points = _to_frame(style, _curves(control_uv))
    widths = (style.width * rng.lognormal(0, WIDTH_SPREAD, n)).astype(np.float32)
    white = rng.random(n) < style.white_fraction
    shades = np.where(
        white, len(SHADES) + rng.integers(0, len(WHITE_SHADES), n), rng.integers(0, len(SHADES), n)
    )
    race = rng.random(n)
    roots = points[:, 0]

    ink = _ink_in_frame(points, np.maximum(widths, min_width))
    order = np.argsort(race / _thinning_weight(growth, roots))
    kept = np.sort(order[np.cumsum(ink[order]) <= growth.density * ink.sum()])
    kept = kept[ink[kept] > 0]  # in view
    points = points[kept]
    if growth.length_factor != 1:
        points = roots[kept, None] + (points - roots[kept, None]) * growth.length_factor
    strands = Strands(points, np.full(len(kept), POINTS), widths[kept] * growth.width_factor, shades[kept])
    hairs = np.zeros(n, np.int64)
    hairs[kept] = 1
    return Follicles(roots, hairs), strands


def palette(style: HairStyle, growth: Growth, skin_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB body and sheen colour for every shade index (pigmented shades first, then white ones)."""
    pigmented = [np.add(style.lab, (d, 0, 0)) for d in SHADES]
    white = [np.add(style.white_lab, (d, 0, 0)) for d in WHITE_SHADES]
    lab = np.array(pigmented + white, np.float32)
    lab += growth.lighten * (np.asarray(skin_lab, np.float32) - lab)
    sheen = lab.copy()
    sheen[:, 0] += style.sheen * (100 - sheen[:, 0]) * 0.6
    sheen[:, 1:] *= 0.8
    return to_uint8(lab_to_rgb(lab)), to_uint8(lab_to_rgb(sheen))


def finest_width(canvas: Canvas) -> float:
    """The finest strand (reference px) the canvas draws: thinner ones are drawn, and cover, this wide."""
    return THINNEST_LINE * 256 / (canvas.size * canvas.supersample)


def _width_steps(strands: Strands, side: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Which step of OpenCV's line widths draws each strand on an image `side` px wide.

    Those widths come in steps of two pixels (see LINE). With `rng`, a strand between two steps takes
    the one above with the odds that
    make its expected width right (stochastic rounding), so the ink of a head, and so the share of skin
    it hides, follows the hair width smoothly instead of jumping from step to step.
    """
    x = (strands.width * side / 256 - THINNEST_LINE) / 2
    if rng is None:
        steps = np.rint(x)
    else:
        steps = np.floor(x)
        steps += rng.random(len(x)) < (x - steps)
    return np.maximum(steps, 0).astype(np.int64)


def _thickness(step: int) -> int:
    return max(1, 2 * int(step))


def _decimation(strands: Strands, side: int) -> np.ndarray:
    """Every how many points a strand is drawn: a curve needs no segment much shorter than 6 px at 1x.

    OpenCV's cost is per segment (a thick anti-aliased segment costs about a microsecond), and most
    strands are short, so drawing every third or fifth of the 16 points makes the hair 2-3x cheaper
    without visible corners. A strand cut at a patch rim keeps every point so that it ends at the rim.
    """
    length = np.sum(np.linalg.norm(np.diff(strands.points, axis=1), axis=2), axis=1) * side
    step = np.where(length < 18 * side / 256, 5, np.where(length < 40 * side / 256, 3, 1))
    return np.where(strands.count < POINTS, 1, step)


def _polylines(pts: np.ndarray, strands: Strands, step: np.ndarray, idx: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(pts[i, : strands.count[i] : step[i]]) for i in idx]


def draw_shadows(canvas: Canvas, strands: Strands, style: HairStyle) -> np.ndarray:
    """A soft mask (float32 0..1, [size, size]) of the shadows the strands cast on the skin.

    A shadow is a blurred, offset trace of its strand: drawn with the cheapest (one-pixel) line at
    no more than 256 px and blurred, which looks the same as tracing each strand's exact width.
    """
    n = min(canvas.size, 256)
    mask = np.zeros((n, n), np.uint8)
    offset = np.asarray(style.shadow_offset, np.float32) / 256
    pts = fixed_point(strands.points + offset, n)
    idx = np.arange(len(strands.count))
    cv2.polylines(
        mask, _polylines(pts, strands, _decimation(strands, n), idx), False, 255, 1, cv2.LINE_AA, SHIFT
    )
    mask = cv2.GaussianBlur(mask, (0, 0), 1.2 * n / 256)
    if n != canvas.size:
        mask = cv2.resize(mask, (canvas.size, canvas.size), interpolation=cv2.INTER_LINEAR)
    return mask.astype(np.float32) * np.float32(style.shadow / 255)


def draw_strands(
    rng: np.random.Generator, image: np.ndarray, strands: Strands, body: np.ndarray, sheen: np.ndarray
) -> None:
    """Draw strands (anti-aliased) onto a uint8 RGB image in place, each group with its specular line.

    Strands are drawn in groups of one width and shade, one OpenCV call per group, in random order.
    """
    side = image.shape[0]
    pts = fixed_point(strands.points, side)
    widths = _width_steps(strands, side, rng)
    step = _decimation(strands, side)
    key = widths * len(body) + strands.shade
    shiny = rng.random(len(key)) < 0.4
    first = rng.integers(1, POINTS // 2, len(key))
    last = np.minimum(first + rng.integers(POINTS // 5, POINTS // 2, len(key)), strands.count)
    for k in rng.permutation(np.unique(key)):
        idx = np.flatnonzero(key == k)
        width, shade = int(k // len(body)), int(k % len(body))
        polylines = _polylines(pts, strands, step, idx)
        cv2.polylines(image, polylines, False, body[shade].tolist(), _thickness(width), LINE, SHIFT)
        lines = [
            np.ascontiguousarray(pts[i, first[i] : last[i] : step[i]])
            for i in idx
            if shiny[i] and last[i] - first[i] >= 2 * step[i]
        ]
        if lines:
            cv2.polylines(image, lines, False, sheen[shade].tolist(), _thickness(width - 1), LINE, SHIFT)
