"""A head of hair: what it is like whatever the label (colour, width, length, curl, combing, locks).

Colour, curl and combing are drawn alike in every style; a style sets the ranges of width, length,
sheen, shadows and locks, and the strand model it is drawn with (strands.py). Every head is straight,
wavy, curly or coily: curly and coily strands wind around their path as a helix seen from above, from
loose ringlets many hair widths across to the tight, looping coils of Afro-textured hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Range = tuple[float, float]

# Lab ranges (L*, a*, b*) of natural hair colours; "grey" is a pigmented colour mixed with white hairs.
HAIR_COLOURS: dict[str, tuple[Range, ...]] = {
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
# Curl types and their odds, the same in every style and for every skin tone.
CURL_ODDS = {"straight": 0.25, "wavy": 0.3, "curly": 0.2, "coily": 0.25}
POINTS = 16  # samples along a strand that does not coil: smooth curves at 256 px
SHADES = 5  # pigmented shades within a head (then two of white hair)


@dataclass(frozen=True)
class HairRanges:
    """What a style lets the hair be; colour, curl and combing are drawn alike in every style."""

    width: Range = (1.6, 2.8)  # median strand width, reference px (at 256 px)
    length: Range = (0.2, 0.8)  # median strand length, frame widths (drawn log-uniformly)
    sheen: Range = (0.2, 0.5)  # strength of the specular line along strands
    shadow: Range = (0.25, 0.5)  # darkness of the shadow strands cast on the skin
    clump: Range = (0.0, 0.3)  # how far strands converge into locks towards their tips
    shade_step: Range = (2.0, 6.0)  # L* between the shades of one head
    model: str = "bezier"  # how strands are drawn (strands.py)


@dataclass(frozen=True)
class Curl:
    kind: str  # straight, wavy, curly or coily
    bend: float  # spread of a strand's start and end angles: 0 straight, larger wavy
    radius: float = 0.0  # of the helix a strand winds along, frame widths; 0: it does not coil
    pitch: float = 1.0  # length of one turn along the strand's path, frame widths
    loop: float = 0.0  # how far the helix swings along the path too: over about 1 it loops


@dataclass(frozen=True)
class Head:
    """Everything about the hair that is the same whatever the label (drawn once per scalp)."""

    colour: str
    lab: tuple[float, float, float]
    white_fraction: float  # share of white hairs (grey hair), 0 otherwise
    white_lab: tuple[float, float, float]
    shade_step: float
    width: float  # median strand width in reference px (at 256 px)
    length: float  # median strand length, frame widths
    comb_angle: float  # radians
    packing: float  # share of a lane's width its strand fills: how closely a full head lies
    jitter: float  # spread of combed strands' angles around their lane, radians
    strays: float  # share of strands that stray across the lanes
    stray_jitter: float  # spread of their angles, radians
    curl: Curl
    points: int  # samples along each strand
    flow: tuple[tuple[float, float, float, float], ...]  # (amplitude, fu, fv, phase): waves of the mass
    clump: float
    lock: float  # width of a lock, frame widths
    shadow: float
    lift: float  # how far strands lie above the skin, reference px: the reach of their shadows
    sheen: float
    model: str


def _pick_colour(rng: np.random.Generator) -> tuple[str, tuple[float, float, float]]:
    names = list(COLOUR_ODDS)
    name = str(rng.choice(names, p=list(COLOUR_ODDS.values())))
    pigment = str(rng.choice(["black", "dark_brown", "brown"])) if name == "grey" else name
    lab_l, lab_a, lab_b = (float(rng.uniform(*r)) for r in HAIR_COLOURS[pigment])
    return name, (lab_l, lab_a, lab_b)


def _curl(rng: np.random.Generator, width: float) -> Curl:
    """The curl of a head: its bend, and for curly and coily hair the helix, by curl type."""
    kind = str(rng.choice(list(CURL_ODDS), p=list(CURL_ODDS.values())))
    if kind in ("straight", "wavy"):
        return Curl(kind, float(rng.uniform(0.0, 0.06) if kind == "straight" else rng.uniform(0.12, 0.35)))
    curly = kind == "curly"
    # a ringlet is many hair widths across; a tight coil a few, and it loops along its path
    radius = min(float(width / 256 * (rng.uniform(5, 10) if curly else rng.uniform(2.5, 5))), 0.05)
    return Curl(
        kind,
        bend=float(rng.uniform(0.3, 0.6) if curly else rng.uniform(0.6, 1.2)),
        radius=radius,
        pitch=float(radius * (rng.uniform(4, 7) if curly else rng.uniform(2.2, 3.5))),
        loop=float(rng.uniform(0.2, 0.5) if curly else rng.uniform(0.6, 1.0)),
    )


def sample_head(rng: np.random.Generator, ranges: HairRanges, skin_lab: tuple[float, float, float]) -> Head:
    for _ in range(100):
        colour, lab = _pick_colour(rng)
        white_fraction = float(rng.uniform(0.35, 0.95)) if colour == "grey" else 0.0
        w_l, w_a, w_b = (float(rng.uniform(*r)) for r in WHITE_HAIR)
        white_lab = (w_l, w_a, w_b)
        mean = np.add(np.multiply(lab, 1 - white_fraction), np.multiply(white_lab, white_fraction))
        if float(np.linalg.norm(mean - np.asarray(skin_lab))) >= MIN_CONTRAST:
            break
    width = float(np.exp(rng.uniform(*np.log(ranges.width))))
    curl = _curl(rng, width)
    length = float(np.exp(rng.uniform(*np.log(ranges.length))))
    coiled = curl.radius > 0
    points = POINTS
    if coiled:  # a coiled strand's path is shorter than the hair, and it does not lie combed
        length *= 0.55 if curl.kind == "curly" else 0.35
        points = int(np.clip(round(5 * 1.3 * length / curl.pitch) + 4, POINTS, 48))  # 5 a turn
    flow = tuple(
        (float(rng.uniform(0, 0.05)), float(rng.uniform(0.3, 1.2)), float(rng.uniform(-0.3, 0.3)),
         float(rng.uniform(0, 2 * np.pi)))
        for _ in range(2)
    )  # fmt: skip
    return Head(
        colour=colour,
        lab=lab,
        white_fraction=white_fraction,
        white_lab=white_lab,
        shade_step=float(rng.uniform(*ranges.shade_step)),
        width=width,
        length=length,
        comb_angle=float(rng.uniform(0, 2 * np.pi)),
        packing=float(rng.uniform(1.2, 1.35)),
        jitter=float(rng.uniform(0.3, 0.9) if coiled else rng.uniform(0.01, 0.05)),
        strays=float(rng.uniform(0.05, 0.25)),
        stray_jitter=float(rng.uniform(0.2, 0.6)),
        flow=flow,
        clump=float(rng.uniform(*ranges.clump)),
        lock=float(rng.uniform(4, 10) * width / 256 + 2 * curl.radius),
        shadow=float(rng.uniform(*ranges.shadow)),
        lift=float(rng.uniform(0.6, 1.8) * max(1.0, width / 2.2)),
        sheen=float(rng.uniform(*ranges.sheen)),
        model=ranges.model,
        curl=curl,
        points=points,
    )
