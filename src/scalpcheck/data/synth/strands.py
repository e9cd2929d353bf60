"""How strands are drawn: their colours, their shadows on the skin, and the strand models of the styles.

A strand model is a list of pieces drawn along each strand, one after the other:
  bezier    a smooth body with a specular line of light along part of it (sheen)
  tapered   a body that narrows in steps to a fine tip, with a faint pale core (hair seen magnified)
  polyline  a flat body through fewer points, so that it bends in visible corners
  locks     a flat body inside a darker outline, as an illustration draws hair
  ribbon    a body whose width swells and narrows along the strand (a sinusoid, and a taper to the tip
            of uncut hairs), a darker medulla line down its middle and short bluish-white glints (hair
            seen through a dermoscope); the body is drawn segment by segment, each at its own width
Strands are drawn in groups of one width and shade, one OpenCV call per piece and group, in random
order, with plain lines on the supersampled canvas (see canvas.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scalpcheck.data.synth.canvas import SHIFT, Canvas, fixed_point, lab_to_rgb, to_uint8
from scalpcheck.data.synth.hair import Growth, Strands
from scalpcheck.data.synth.head import POINTS, SHADES, Head

# Measured: thickness 1 of OpenCV's 8-connected lines covers 0.95 px across, and thickness 2k about
# 0.95 + 2k px (3 as much as 4).
LINE = cv2.LINE_8
THINNEST_LINE = 0.95
SHADOW_SIDE = 160  # shadows are soft: traced at this size at most, then blurred and enlarged


@dataclass(frozen=True)
class Piece:
    start: tuple[float, float]  # where along the strand it starts (share of its length), drawn per strand
    span: tuple[float, float]  # how much of the strand it covers
    width: float  # share of the strand's width
    extra: int  # width steps added (an outline: 1) or taken away (a line inside the body: -1)
    colour: str  # "body", "sheen", "edge", "medulla" or "glint"
    share: float = 1.0  # share of the strands that have it


WHOLE = ((0.0, 0.0), (1.0, 1.0))
MODELS: dict[str, tuple[Piece, ...]] = {
    "bezier": (Piece(*WHOLE, 1.0, 0, "body"), Piece((0.06, 0.45), (0.2, 0.45), 1.0, -1, "sheen", 0.4)),
    "tapered": (
        Piece((0.0, 0.0), (0.62, 0.62), 1.0, 0, "body"),
        Piece((0.6, 0.6), (0.24, 0.24), 0.7, 0, "body"),
        Piece((0.82, 0.82), (0.18, 0.18), 0.4, 0, "body"),
        Piece((0.05, 0.2), (0.3, 0.5), 0.3, 0, "sheen", 0.5),
    ),
    "polyline": (Piece(*WHOLE, 1.0, 0, "body"),),
    "locks": (Piece(*WHOLE, 1.0, 1, "edge"), Piece(*WHOLE, 1.0, 0, "body")),
    "ribbon": (  # the body is drawn by _ribbon_bodies
        Piece((0.0, 0.08), (0.45, 0.92), 0.3, 0, "medulla", 0.85),
        Piece((0.05, 0.7), (0.05, 0.2), 0.4, 0, "glint", 0.6),
    ),
}
GLINT_POINTS = 3  # a glint's points at most (on a coiling strand, finely sampled: 2), so it stays short
RIBBON_BATCHES = 3  # strands of one shade are drawn in this many random batches, each body before its lines
GLINT_LAB = (92.0, -2.0, -9.0)  # bluish white: the ring light's reflection on a hair
# Every how many of a strand's 16 points it is drawn, for short, middling and long strands; steps that
# divide 15 end every strand at its tip. Tapered pieces are short, so they keep every point.
STEPS = {"bezier": (5, 3, 1), "tapered": (1, 1, 1), "polyline": (15, 5, 3), "locks": (5, 3, 1),
         "ribbon": (5, 3, 1)}  # fmt: skip


def palette(head: Head, growth: Growth, skin_lab: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 RGB body, sheen and edge colours for every shade index (pigmented shades, then white)."""
    steps = (np.arange(SHADES) - SHADES // 2) * head.shade_step
    pigmented = [np.add(head.lab, (d, 0, 0)) for d in steps]
    white = [np.add(head.white_lab, (d, 0, 0)) for d in (-3.0, 3.0)]
    lab = np.array(pigmented + white, np.float32)
    lab += growth.lighten * (np.asarray(skin_lab, np.float32) - lab)
    sheen = lab.copy()
    sheen[:, 0] += head.sheen * (100 - sheen[:, 0]) * 0.6
    sheen[:, 1:] *= 0.8
    edge = lab.copy()
    edge[:, 0] *= 0.55
    medulla = lab.copy()
    medulla[:, 0] *= 0.6
    glint = lab + head.sheen * (np.asarray(GLINT_LAB, np.float32) - lab)
    named = (("body", lab), ("sheen", sheen), ("edge", edge), ("medulla", medulla), ("glint", glint))
    return {name: to_uint8(lab_to_rgb(c)) for name, c in named}


def finest_width(canvas: Canvas) -> float:
    """The finest strand (reference px) the canvas draws: thinner ones are drawn, and cover, this wide."""
    return THINNEST_LINE * 256 / (canvas.size * canvas.supersample)


def _width_steps(widths: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """Which step of OpenCV's line widths draws each width (reference px) on an image `side` px wide.

    Those widths come in steps of two pixels (see LINE): a width between two steps takes the one above
    with the odds that make its expected width right (stochastic rounding), so the ink of a head, and so
    the share of skin it hides, follows the hair width smoothly instead of jumping from step to step.
    """
    x = (widths * side / 256 - THINNEST_LINE) / 2
    steps = np.floor(x)
    steps += rng.random(len(x)) < (x - steps)
    return np.maximum(steps, 0).astype(np.int64)


def _thickness(step: int) -> int:
    return max(1, 2 * int(step))


def decimation(strands: Strands, side: int, model: str = "bezier") -> np.ndarray:
    """Every how many points a strand is drawn: a curve needs no segment much shorter than 6 px at 1x.

    OpenCV's cost is per segment, and most strands are short, so drawing every third or fifth of the 16
    points makes the hair 2-3x cheaper without visible corners. A strand cut at a patch rim, and one that
    coils, keeps every point.
    """
    if strands.points.shape[1] != POINTS:
        return np.ones(len(strands.count), np.int64)
    short, middling, long = STEPS[model]
    seg = np.diff(strands.points, axis=1)
    length = np.sum(np.hypot(seg[..., 0], seg[..., 1]), axis=1) * side
    step = np.where(length < 18 * side / 256, short, np.where(length < 40 * side / 256, middling, long))
    return np.where(strands.count < POINTS, 1, step)


def _polylines(pts: np.ndarray, first: np.ndarray, last: np.ndarray, step: np.ndarray, idx) -> list:
    return [np.ascontiguousarray(pts[i, first[i] : last[i] : step[i]]) for i in idx]


def draw_shadows(canvas: Canvas, strands: Strands, head: Head, light_angle: float) -> np.ndarray:
    """A soft mask (float32 0..1, [size, size]) of the shadows the strands cast on the skin.

    A shadow is a blurred, offset trace of its strand: drawn with the cheapest (one-pixel) line at
    no more than SHADOW_SIDE px and blurred, which looks the same as tracing each strand's exact width.
    """
    if head.shadow <= 0 or not len(strands.count):
        return np.zeros((canvas.size, canvas.size), np.float32)
    n = min(canvas.size, SHADOW_SIDE)
    mask = np.zeros((n, n), np.uint8)
    offset = head.lift * np.array([np.cos(light_angle), np.sin(light_angle)], np.float32) / 256
    pts = fixed_point(strands.points + offset, n)
    first = np.zeros(len(strands.count), np.int64)
    lines = _polylines(pts, first, strands.count, decimation(strands, n), range(len(first)))
    cv2.polylines(mask, lines, False, 255, 1, cv2.LINE_AA, SHIFT)
    soft = cv2.GaussianBlur(mask, (0, 0), max(0.6, 1.2 * n / 256 * max(1.0, head.width / 3)))
    if n != canvas.size:
        soft = cv2.resize(soft, (canvas.size, canvas.size), interpolation=cv2.INTER_LINEAR)
    return soft.astype(np.float32) * np.float32(head.shadow / 255)


def _span(rng: np.random.Generator, piece: Piece, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and end index of a piece along each strand."""
    n = len(count)
    start = rng.uniform(*piece.start, n)
    end = start + rng.uniform(*piece.span, n)
    last = count - 1
    first = np.floor(start * last).astype(np.int64)
    stop = np.minimum(np.ceil(end * last).astype(np.int64), last) + 1
    return first, stop


def draw_strands(
    rng: np.random.Generator, image: np.ndarray, strands: Strands, colours: dict[str, np.ndarray], model: str
) -> None:
    """Draw strands onto a uint8 RGB image in place with the pieces of their model."""
    if not len(strands.count):
        return
    if model == "ribbon":
        _draw_ribbons(rng, image, strands, colours)
        return
    side = image.shape[0]
    pts = fixed_point(strands.points, side)
    step = decimation(strands, side, model)
    body = _width_steps(strands.width, side, rng)
    shades = len(colours["body"])
    key = body * shades + strands.shade
    pieces = []
    for piece in MODELS[model]:
        first, stop = _span(rng, piece, strands.count)
        has = (rng.random(len(key)) < piece.share) & (stop - first >= 2 * step)
        width = body if piece.width == 1 else _width_steps(strands.width * piece.width, side, rng)
        pieces.append((piece, first, stop, has, np.maximum(width + piece.extra, 0)))
    for k in rng.permutation(np.unique(key)):
        idx = np.flatnonzero(key == k)
        shade = int(k % shades)
        for piece, first, stop, has, width in pieces:
            mine = idx[has[idx]]
            for w in np.unique(width[mine]):
                lines = _polylines(pts, first, stop, step, mine[width[mine] == w])
                colour = colours[piece.colour][shade].tolist()
                cv2.polylines(image, lines, False, colour, _thickness(w), LINE, SHIFT)


def _ribbon_widths(rng: np.random.Generator, strands: Strands, step: np.ndarray, side: int):
    """Every strand drawn every `step` points, cut into runs of one OpenCV width step.

    A strand's width swells and narrows along it (0.5 to 2.5 cycles of a sinusoid of 5 to 30 %), and an
    uncut hair (half of them) tapers over its last quarter to a third of its width; the profile is
    scaled so that its mean is the strand's width, so a head covers what its widths say (hair.py). The
    width steps are rounded with one random offset per strand (dithering), so a strand's width changes
    smoothly along it, in a few runs, and its expected width is right.
    Returns (runs: polylines in int32 fixed point, their width steps (R,), the strand of each (R,)).
    """
    n = len(strands.count)
    amp = rng.uniform(0.05, 0.3, n)
    cycles = rng.uniform(0.5, 2.5, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    tapers = rng.random(n) < 0.5
    dither = rng.random(n)
    pts = fixed_point(strands.points, side)
    runs: list[np.ndarray] = []
    widths, owner = [], []
    for s in np.unique(step):
        group = np.flatnonzero(step == s)
        p = np.ascontiguousarray(pts[group][:, :: int(s)])
        q = p.shape[1] - 1  # segments a strand can have
        j = np.arange(q)
        last = (strands.count[group] - 1)[:, None]
        valid = (j[None, :] + 1) * s <= last  # the first segments of each strand
        t = (j[None, :] + 0.5) * s / np.maximum(last, 1)
        profile = 1 + amp[group, None] * np.sin(2 * np.pi * cycles[group, None] * t + phase[group, None])
        profile *= np.where(tapers[group, None], np.clip(0.33 + (1 - t) * 2.68, 0.33, 1), 1)
        drawn = valid.sum(axis=1)
        profile /= (np.sum(profile * valid, axis=1) / np.maximum(drawn, 1))[:, None]
        x = (strands.width[group, None] * profile * side / 256 - THINNEST_LINE) / 2
        steps = np.maximum(np.floor(x + dither[group, None]), 0).astype(np.int64)
        change = np.ones_like(valid)
        change[:, 1:] = steps[:, 1:] != steps[:, :-1]
        starts = np.flatnonzero(valid & change)  # row-major: strand by strand, along each
        rows = starts // q
        row_end = np.arange(len(group)) * q + drawn - 1
        ends = (
            np.minimum(np.append(starts[1:], starts[-1:] + q) - 1, row_end[rows]) if len(starts) else starts
        )
        runs += [p[r, a : b + 2] for r, a, b in zip(rows, starts % q, ends % q, strict=True)]
        widths.append(steps.ravel()[starts])
        owner.append(group[rows])
    return runs, np.concatenate(widths), np.concatenate(owner)


def _draw_ribbons(
    rng: np.random.Generator, image: np.ndarray, strands: Strands, colours: dict[str, np.ndarray]
) -> None:
    """The ribbon model: bodies run by run, then their medulla lines and glints, batch by batch."""
    side = image.shape[0]
    step = decimation(strands, side, "ribbon")
    runs, run_width, owner = _ribbon_widths(rng, strands, step, side)
    pts = fixed_point(strands.points, side)
    pieces = []
    fine = np.ones_like(step)
    for piece in MODELS["ribbon"]:
        first, stop = _span(rng, piece, strands.count)
        every = step
        if piece.colour == "glint":  # short: a few of the strand's points, all of them drawn
            every = fine
            stop = np.minimum(stop, first + GLINT_POINTS - (strands.points.shape[1] > POINTS))
        has = (rng.random(len(step)) < piece.share) & (stop - first >= 2 * every)
        pieces.append((piece, first, stop, has, every, _width_steps(strands.width * piece.width, side, rng)))
    batch = strands.shade * RIBBON_BATCHES + rng.integers(0, RIBBON_BATCHES, len(step))
    run_batch = batch[owner]
    for k in rng.permutation(np.unique(batch)):
        shade = int(k // RIBBON_BATCHES)
        mine = np.flatnonzero(run_batch == k)
        colour = colours["body"][shade].tolist()
        for w in np.unique(run_width[mine]):
            lines = [runs[i] for i in mine[run_width[mine] == w]]
            cv2.polylines(image, lines, False, colour, _thickness(w), LINE, SHIFT)
        idx = np.flatnonzero(batch == k)
        for piece, first, stop, has, every, width in pieces:
            drawn = idx[has[idx]]
            colour = colours[piece.colour][shade].tolist()
            for w in np.unique(width[drawn]):
                lines = _polylines(pts, first, stop, every, drawn[width[drawn] == w])
                cv2.polylines(image, lines, False, colour, _thickness(w), LINE, SHIFT)
