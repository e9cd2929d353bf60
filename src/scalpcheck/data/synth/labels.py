"""What each label of each task draws: the only part of a phantom that knows its label.

Everything a label changes is in a Look; everything else (skin, hair, style, camera, confounders) is
drawn before it, from the same distribution for every label, so nothing but the cue gives a label away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scalpcheck.data.synth.hair import Growth
from scalpcheck.data.synth.lesions import PLAIN, LesionRanges, Patch, sample_patches

# Hair density of each hair-loss stage, as a share of a full head. Neighbouring ranges
# are close on purpose but never overlap, so every phantom has exactly one right stage.
STAGE_DENSITY: dict[str, tuple[float, float]] = {
    "stage_0": (0.90, 1.00),
    "stage_1": (0.65, 0.85),
    "stage_2": (0.40, 0.60),
    "stage_3": (0.15, 0.35),
    "stage_4": (0.00, 0.05),
}
NORMAL_DENSITY = STAGE_DENSITY["stage_0"]  # the scalp-condition labels all have normal hair density


@dataclass(frozen=True)
class Look:
    growth: Growth
    patches: tuple[Patch, ...] = ()  # alopecia areata
    psoriasis: bool = False
    folliculitis: bool = False
    shine: float = 0.0  # extra shine of bare skin, on top of the camera's


# How uneven the loss is, per stage: the log-amplitude range of each of three waves of the field that
# decides which hairs go first. Slight thinning shows the scalp "in places" (strongly uneven); clear
# thinning shows it "plainly between strands" (more even).
UNEVENNESS = {"stage_1": (1.5, 2.5), "stage_2": (1.0, 2.0), "stage_3": (0.3, 0.8)}


def _thinning(rng: np.random.Generator, label: str, density: float) -> Growth:
    """Thinning uneven across the view, either all over or mostly towards a point near its centre."""
    waves = tuple(
        (
            float(rng.uniform(*UNEVENNESS[label])),
            float(f * np.cos(a)),
            float(f * np.sin(a)),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for f, a in zip(rng.uniform(0.6, 1.5, 3), rng.uniform(0, 2 * np.pi, 3), strict=True)
    )
    if rng.random() < 0.5:
        return Growth(density=density, unevenness=waves)
    return Growth(
        density=density,
        thinning=float(rng.uniform(0.3, 0.9)),
        focus=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
        focus_radius=float(rng.uniform(0.2, 0.4)),
        unevenness=waves,
    )


def _stage(rng: np.random.Generator, label: str) -> Look:
    low, high = STAGE_DENSITY[label]
    density = float(low + (high - low) * rng.beta(3, 3))  # anywhere in the range, mostly near its middle
    if label == "stage_0":
        return Look(Growth(density=density))
    if label in ("stage_1", "stage_2"):
        return Look(_thinning(rng, label, density))
    if label == "stage_3":  # miniaturised: thinner, lighter, shorter hairs
        growth = replace(
            _thinning(rng, label, density),
            width_factor=float(rng.uniform(0.45, 0.65)),
            lighten=float(rng.uniform(0.25, 0.45)),
            length_factor=float(rng.uniform(0.5, 0.8)),
        )
        return Look(growth)
    # stage_4: bare, slightly shiny skin; what hair is left is fine, light, short vellus hair
    vellus = Growth(
        density=density,
        width_factor=float(rng.uniform(0.25, 0.4)),
        lighten=float(rng.uniform(0.65, 0.85)),
        length_factor=float(rng.uniform(0.08, 0.2)),
    )
    return Look(vellus, shine=float(rng.uniform(0.06, 0.16)))


def sample_look(task: str, label: str, rng: np.random.Generator, lesions: LesionRanges = PLAIN) -> Look:
    if task == "hairloss":
        return _stage(rng, label)
    growth = Growth(density=float(rng.uniform(*NORMAL_DENSITY)))
    if label == "alopecia":
        return Look(growth, patches=sample_patches(rng, lesions.patch_wobble))
    if label == "psoriasis":
        return Look(growth, psoriasis=True)
    if label == "folliculitis":
        return Look(growth, folliculitis=True)
    return Look(growth)
