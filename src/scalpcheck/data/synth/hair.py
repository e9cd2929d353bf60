"""Hair: a combed full head, thinned to the label's density (head.py says what the head is like,
strands.py draws it).

Seen from above, combed hair lies in lanes side by side along the combing direction, each lane a
chain of strands of random length that overlap a little end to end; a share of stray strands cross
the lanes at an angle, and the whole mass bends with a slow flow. Packed like this, the share of
skin a head hides falls in proportion to the hair it loses, as on a real thinning scalp, where
randomly scattered strands would pile up and hide the loss until it is severe. Coiled strands lay
more hair along their path and lie in random layers: their lanes are spaced for that, so that a full
head of them still just covers the scalp. Hair may also gather into locks, its strands converging
towards their tips, and neighbouring strands share a shade as the masses of a head do.

Thinning (the hair-loss stages) removes strands, in a random race weighted by the thinning pattern,
until exactly the density's share of the full head's hair in the frame (strand length times width) is
left; the empty follicle openings stay visible. A stage is therefore the same amount of hair in every
photo, whatever the width, length, curl or colour of the hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpcheck.data.synth.head import SHADES, Head

LENGTH_SPREAD = 0.55  # log-normal sigma of strand lengths within an image
WIDTH_SPREAD = 0.3  # log-normal sigma of strand widths within an image
HALF_DIAGONAL = 0.71  # the frame, centred, seen along any combing direction reaches this far
COIL_LAYERS = 2.0  # coils lie in random layers, not side by side: this many hide the skin about as well


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
    points: np.ndarray  # (N, P, 2) float32, relative coordinates
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


@dataclass(frozen=True)
class Ink:
    """Hair in the frame (strand length times width, in frame areas): of the full head, and of what grew."""

    full: float
    kept: float


@dataclass
class Follicles:
    xy: np.ndarray  # (U, 2) relative positions of the full head's follicles (also outside the frame)
    hairs: np.ndarray  # (U,) hairs each still carries (0 once thinning took it)


def _sideways(head: Head, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow's sideways displacement of combed hair at (u, v) and its slope along u."""
    shift, slope = np.zeros_like(u), np.zeros_like(u)
    for amp, fu, fv, phase in head.flow:
        arg = 2 * np.pi * (fu * u + fv * v) + phase
        shift += amp * np.sin(arg)
        slope += amp * 2 * np.pi * fu * np.cos(arg)
    return shift, slope


def _to_frame(head: Head, uv: np.ndarray) -> np.ndarray:
    """Comb coordinates (u along the combing direction, v across, origin at the centre) -> frame."""
    u, v = uv[..., 0], uv[..., 1]
    v = v + _sideways(head, u, v)[0]
    c, s = np.cos(head.comb_angle), np.sin(head.comb_angle)
    return np.stack([0.5 + u * c - v * s, 0.5 + u * s + v * c], axis=-1).astype(np.float32)


def comb_direction(head: Head, xy: np.ndarray) -> np.ndarray:
    """The direction (radians) combed hair lies in at frame positions xy."""
    c, s = np.cos(head.comb_angle), np.sin(head.comb_angle)
    dx, dy = xy[:, 0] - 0.5, xy[:, 1] - 0.5
    slope = _sideways(head, dx * c + dy * s, -dx * s + dy * c)[1]
    return (head.comb_angle + np.arctan(slope)).astype(np.float32)


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


def _curves(control: np.ndarray, points: int) -> np.ndarray:
    t = np.linspace(0, 1, points, dtype=np.float32)[:, None]
    basis = np.concatenate([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3], axis=1)
    return np.matmul(basis, control)  # (N, points, 2)


def coil_arc(head: Head) -> float:
    """Length of a coiled strand over the length of its path (1 for a strand that does not coil)."""
    if head.curl.radius <= 0:
        return 1.0
    k = 2 * np.pi * head.curl.radius / head.curl.pitch
    phase = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    return float(np.mean(np.hypot(1 - head.curl.loop * k * np.sin(phase), k * np.cos(phase))))


def _coil(rng: np.random.Generator, head: Head, paths: np.ndarray) -> np.ndarray:
    """Wind strands around their paths: a helix seen from above, starting at the root."""
    if head.curl.radius <= 0:
        return paths
    step = np.diff(paths, axis=1)
    seg = np.hypot(step[..., 0], step[..., 1])
    tangent = np.concatenate([step[:, :1], step[:, 1:] + step[:, :-1], step[:, -1:]], axis=1)
    tangent /= np.hypot(tangent[..., 0], tangent[..., 1])[..., None] + np.float32(1e-9)
    along = np.concatenate([np.zeros((len(paths), 1), np.float32), np.cumsum(seg, axis=1)], axis=1)
    start = rng.uniform(0, 2 * np.pi, (len(paths), 1)).astype(np.float32)
    phase = along * np.float32(2 * np.pi / head.curl.pitch) + start
    radius = np.float32(head.curl.radius) * rng.uniform(0.75, 1.25, (len(paths), 1)).astype(np.float32)
    radius = radius * np.minimum(np.float32(1), along / np.float32(head.curl.radius))
    across = radius * np.sin(phase)
    ahead = radius * np.float32(head.curl.loop) * np.cos(phase)
    out = paths.copy()
    out[..., 0] += ahead * tangent[..., 0] - across * tangent[..., 1]
    out[..., 1] += ahead * tangent[..., 1] + across * tangent[..., 0]
    return out.astype(np.float32)


def bezier_strands(
    rng: np.random.Generator,
    roots: np.ndarray,
    angles: np.ndarray,
    lengths: np.ndarray,
    widths: np.ndarray,
    shades: np.ndarray,
    curl: float,
    points: int,
) -> Strands:
    """Cubic Bezier strands leaving `roots` along `angles`, bending by up to about `curl` radians."""
    curves = _curves(_controls(rng, roots, angles, lengths, curl), points)
    return Strands(curves, np.full(len(curves), points), widths.astype(np.float32), shades.astype(np.int64))


def _lanes(rng: np.random.Generator, head: Head, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Roots (u, v) and lengths of a full head combed into lanes across the whole frame."""
    reach = HALF_DIAGONAL + sum(f[0] for f in head.flow)
    lanes = np.arange(-reach, reach, spacing)
    lanes += rng.uniform(-0.25, 0.25, len(lanes)) * spacing
    per_lane = int(np.ceil(2 * HALF_DIAGONAL / (0.7 * head.length * np.exp(-LENGTH_SPREAD)))) + 2
    lengths = np.clip(head.length * rng.lognormal(0, LENGTH_SPREAD, (len(lanes), per_lane)), 0.01, 0.95)
    steps = lengths * rng.uniform(0.7, 1.0, lengths.shape)
    starts = -HALF_DIAGONAL - lengths[:, :1] * rng.random((len(lanes), 1)) + np.cumsum(steps, axis=1) - steps
    used = starts < HALF_DIAGONAL
    v = np.broadcast_to(lanes[:, None], starts.shape)
    return np.stack([starts[used], v[used]], axis=1), lengths[used]


def _clump(head: Head, control_uv: np.ndarray) -> np.ndarray:
    """Pull strands across the lanes towards the middle of their lock, more towards their tips."""
    if head.clump <= 0:
        return control_uv
    v = control_uv[:, 0, 1]
    middle = (np.floor(v / head.lock) + 0.5) * head.lock
    pull = head.clump * np.array([0, 1 / 3, 2 / 3, 1], np.float32)
    out = control_uv.copy()
    out[..., 1] += (middle - v)[:, None] * pull
    return out


def _masses(rng: np.random.Generator, xy: np.ndarray) -> np.ndarray:
    """How light the hair is at xy, about -1..1: smooth waves from half to a fourteenth of the frame
    across, so that neighbouring strands share a shade as the masses and locks of a head do."""
    lit = np.zeros(len(xy))
    for cycles in (2, 6, 2, 6, 14, 14):  # at most this many per frame, at least half as many
        angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        along = xy[:, 0] * np.cos(angle) + xy[:, 1] * np.sin(angle)
        lit += np.sin(2 * np.pi * rng.uniform(cycles / 2, cycles) * along + phase)
    return lit / np.sqrt(3)  # unit standard deviation for six waves


def _near_frame(head: Head, control_uv: np.ndarray) -> np.ndarray:
    """Which strands can reach into the frame: a Bezier curve stays inside the box of its control points
    (widened by the coil and by how much the flow bends it between them). The rest are never drawn."""
    frame = _to_frame(head, control_uv)
    margin = 1.3 * head.curl.radius + 0.03
    return (frame.max(axis=1) > -margin).all(axis=1) & (frame.min(axis=1) < 1 + margin).all(axis=1)


def ink_in_frame(strands: Strands, min_width: float = 0.0) -> np.ndarray:
    """Area (in frame areas) each strand covers inside the frame: arc length in view times width."""
    pts = strands.points
    seg = pts[:, 1:] - pts[:, :-1]
    mid = pts[:, :-1] + seg / 2
    in_view = (mid >= 0).all(axis=2) & (mid <= 1).all(axis=2)
    if strands.count.min(initial=pts.shape[1]) < pts.shape[1]:
        in_view &= np.arange(seg.shape[1])[None, :] < (strands.count[:, None] - 1)
    length = np.hypot(seg[..., 0], seg[..., 1])
    return np.sum(length * in_view, axis=1) * np.maximum(strands.width, min_width) / 256


def _thinning_weight(growth: Growth, xy: np.ndarray) -> np.ndarray:
    """How strongly a hair at xy holds on: lower near the focus of thinning and where the field is low."""
    near = np.exp(-np.sum((xy - np.asarray(growth.focus)) ** 2, axis=-1) / (2 * growth.focus_radius**2))
    w = 1 - growth.thinning * near
    for amp, fx, fy, phase in growth.unevenness:
        w = w * np.exp(amp * np.sin(2 * np.pi * (fx * xy[..., 0] + fy * xy[..., 1]) + phase))
    return np.maximum(w, 1e-6)


def grow(
    rng: np.random.Generator, head: Head, growth: Growth, min_width: float = 0.0
) -> tuple[Follicles, Strands, Ink]:
    """The follicles of a full head near the frame, the strands in view that the label's growth leaves on
    them, and the ink in the frame of both.

    min_width: the finest width (reference px) the canvas draws; finer strands cover that much.
    """
    breadth = max(head.width * np.exp(WIDTH_SPREAD**2 / 2), min_width) / 256
    # a coiled strand lays coil_arc times its path's length of hair, in about COIL_LAYERS random layers
    spacing = breadth * coil_arc(head) / (COIL_LAYERS if head.curl.radius > 0 else 1) / head.packing
    roots_uv, lengths = _lanes(rng, head, spacing)
    n = len(lengths)
    stray = rng.random(n) < head.strays
    slope = _sideways(head, roots_uv[:, 0], roots_uv[:, 1])[1]
    angles = np.arctan(slope) + rng.normal(0, 1, n) * np.where(stray, head.stray_jitter, head.jitter)
    control_uv = _clump(
        head, _controls(rng, roots_uv, angles, lengths, np.where(stray, 2 * head.curl.bend, head.curl.bend))
    )
    control_uv = control_uv[_near_frame(head, control_uv)]
    n = len(control_uv)
    points = _coil(rng, head, _to_frame(head, _curves(control_uv, head.points)))
    widths = (head.width * rng.lognormal(0, WIDTH_SPREAD, n)).astype(np.float32)
    white = rng.random(n) < head.white_fraction
    lit = _masses(rng, points[:, 0]) + rng.normal(0, 0.4, n)
    shades = np.where(
        white, SHADES + (lit > 0), np.clip(np.round((SHADES - 1) / 2 * (1 + lit)), 0, SHADES - 1)
    ).astype(np.int64)
    race = rng.random(n)
    roots = points[:, 0]

    full = Strands(points, np.full(n, head.points), widths, shades)
    ink = ink_in_frame(full, min_width)
    order = np.argsort(race / _thinning_weight(growth, roots))
    kept = np.sort(order[np.cumsum(ink[order]) <= growth.density * ink.sum()])
    kept = kept[ink[kept] > 0]  # in view
    hairs = np.zeros(n, np.int64)
    hairs[kept] = 1
    return Follicles(roots, hairs), full.take(kept), Ink(float(ink.sum()), float(ink[kept].sum()))


def miniaturise(strands: Strands, growth: Growth) -> Strands:
    """Thinner and shorter strands (hair-loss stages 3 and 4), about their roots."""
    points = strands.points
    if growth.length_factor != 1:
        roots = points[:, :1]
        points = roots + (points - roots) * np.float32(growth.length_factor)
    return Strands(points, strands.count, strands.width * np.float32(growth.width_factor), strands.shade)
