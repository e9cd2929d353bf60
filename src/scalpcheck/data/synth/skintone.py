"""Skin tone: the base colour of a scalp, drawn so that every skin-tone group is equally common.

Tone is described as dermatology describes it, by the Individual Typology Angle of its CIELAB colour,
ITA = atan((L* - 50) / b*) in degrees, and the six standard ITA categories (Chardon et al., 1991):

    very_light  ITA > 55       light  41 .. 55       intermediate  28 .. 41
    tan         10 .. 28       brown  -30 .. 10      dark          < -30

A tone is drawn by picking one of the six groups with equal odds, an angle uniformly inside it, then a
b* and the L* that angle implies. The groups pair up into thirds (light, medium, dark) for fairness
figures that need more images per group; each third is a third of the phantoms by construction.
"""

from __future__ import annotations

import math

import numpy as np

# (name, lowest ITA, highest ITA); the outer groups are bounded where human skin ends
GROUPS: tuple[tuple[str, float, float], ...] = (
    ("very_light", 55.0, 70.0),
    ("light", 41.0, 55.0),
    ("intermediate", 28.0, 41.0),
    ("tan", 10.0, 28.0),
    ("brown", -30.0, 10.0),
    ("dark", -60.0, -30.0),
)
THIRDS = {"very_light": "light", "light": "light", "intermediate": "medium", "tan": "medium",
          "brown": "dark", "dark": "dark"}  # fmt: skip
L_RANGE = (22.0, 80.0)  # scalp skin lightness from the darkest to the lightest
A_RANGE = (5.0, 14.0)  # redness
B_RANGE = (6.0, 22.0)  # yellowness


def ita(lightness: float, b: float) -> float:
    """Individual Typology Angle in degrees (b* > 0 for skin)."""
    return math.degrees(math.atan2(lightness - 50.0, b))


def group(angle: float) -> str:
    """The ITA category of an angle; a boundary belongs to the darker group."""
    for name, low, _ in GROUPS:
        if angle > low:
            return name
    return GROUPS[-1][0]


def third(angle: float) -> str:
    return THIRDS[group(angle)]


def sample_tone(rng: np.random.Generator) -> tuple[float, float, float]:
    """(L*, a*, b*) of a base skin tone: equal odds for every ITA group, uniform angle inside it."""
    _, low, high = GROUPS[int(rng.integers(len(GROUPS)))]
    angle = float(rng.uniform(low, high))
    slope = math.tan(math.radians(angle))  # L* = 50 + slope * b*
    b_high = B_RANGE[1]
    if slope > 0:
        b_high = min(b_high, (L_RANGE[1] - 50) / slope)
    elif slope < 0:
        b_high = min(b_high, (L_RANGE[0] - 50) / slope)
    b = float(rng.uniform(B_RANGE[0], max(b_high, B_RANGE[0])))
    return (50.0 + slope * b, float(rng.uniform(*A_RANGE)), b)
