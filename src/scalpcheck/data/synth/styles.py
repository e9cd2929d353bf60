"""Rendering styles: how a phantom is drawn and photographed, never what its label shows.

A style is a set of ranges for the skin's texture, the hair, the rendering of lesions and the camera,
plus the strand model it draws hair with. Within a style every factor is drawn from its range for
every image; the skin tone, hair colour, curl type, lesion sizes and counts and the hair densities of
the labels are drawn alike in every style. A model trained on several styles therefore has to learn
the clinical cue, which is the one thing they share.

  studio       an even, neutral close-up: smooth Bezier strands with a line of sheen, moderate widths,
               mild tilt, defocus, noise and compression
  trichoscope  a contact trichoscope: high magnification (thick, tapered, sharp hairs, large follicle
               openings and pores), even polarised light without shine, a round field stop that
               darkens the corners, barrel distortion, low noise, high JPEG quality
  phone        a phone held over the head: a wide field (fine hair, small pores), flat strands with
               corners, strong tilt and rotation, motion blur and defocus, a small sensor upscaled and
               sharpened, strong grey and colour noise, a white balance off, flash shine, low JPEG quality
  sketch       an illustration: posterised flat skin, few pores, clumped locks of flat strands with
               dark outlines, flat lesions, no shading, almost no noise or blur
  dermoscope   the held-out evaluation style: a contact dermoscope with its own models of hair (ribbons
               that swell and narrow, a dark medulla, bluish-white glints), skin (polygonal cells, a
               pigment network on their borders, white dots, fine vessels) and lesions (plaques of
               blobs with dotted vessels and flaky scale, yellow dots in bald patches, crusted
               pustules), seen through a hard round field with a ring light, chromatic aberration and
               field curvature at the rim, air bubbles and a burnt-in scale bar or crosshair

`mix` draws the style of each image from its own random stream, the TRAINING_STYLES equally likely; it
never draws the HELD_OUT_STYLES, which are reachable only by name, so that a model trained on `mix` can
be measured on a style it has never seen. A comma list of names draws from just those styles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpcheck.data.synth.camera import CameraRanges, ScopeRanges
from scalpcheck.data.synth.head import HairRanges
from scalpcheck.data.synth.lesions import LesionRanges
from scalpcheck.data.synth.skin import SkinRanges

MIX = "mix"
DEFAULT_STYLE = MIX
STUDIO = "studio"  # the first renderer's look: what a plan made without a style is drawn in


@dataclass(frozen=True)
class Style:
    name: str
    skin: SkinRanges
    hair: HairRanges
    lesions: LesionRanges
    camera: CameraRanges


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "studio",
            SkinRanges(),
            HairRanges(width=(1.4, 3.2)),
            LesionRanges(),
            CameraRanges(
                defocus=(0.15, 0.6),
                motion_odds=0.05,
                motion=(1.0, 2.0),
                resolution=(0.85, 1.0),
                jpeg=(75, 95),
            ),
        ),
        Style(
            "trichoscope",
            SkinRanges(
                variation=(1.0, 3.0),
                mottle=(2.0, 4.0),
                grain=(0.02, 0.05),
                pores=(150, 400),
                pore_depth=(0.1, 0.25),
                pore_size=(1.0, 1.6),
                opening_size=(2.0, 3.5),
                opening_depth=(0.35, 0.6),
                network=(0.04, 0.14),
            ),
            HairRanges(
                width=(3.5, 9.0),
                length=(0.45, 1.2),
                sheen=(0.1, 0.3),
                shadow=(0.1, 0.3),
                clump=(0.0, 0.15),
                shade_step=(1.0, 3.0),
                model="tapered",
            ),
            LesionRanges(patch_edge=(0.5, 1.5), plaque_edge=(0.8, 1.6), scale_cells=(14, 24)),
            CameraRanges(
                inset=(0.0, 0.03),
                rotation=(-3.0, 3.0),
                distortion=(0.0, 0.12),
                relief=(0.15, 0.45),
                shadow_odds=0.05,
                gradient=(0.0, 0.06),
                vignette=(0.0, 0.1),
                shine=(0.0, 0.02),
                field_stop_odds=0.85,
                exposure=(0.38, 0.52),
                auto_exposure=(0.0, 0.4),
                contrast=(1.0, 1.25),
                cast=0.02,
                warmth=(-0.02, 0.05),
                defocus=(0.1, 0.4),
                read_noise=(0.002, 0.01),
                shot_noise=(0.0, 0.015),
                chroma=(0.0, 0.2),
                jpeg=(85, 98),
            ),
        ),
        Style(
            "phone",
            SkinRanges(
                variation=(2.0, 6.0),
                grain=(0.02, 0.06),
                pores=(500, 1200),
                pore_depth=(0.05, 0.15),
                pore_size=(0.4, 0.7),
                opening_size=(0.6, 0.9),
                opening_depth=(0.15, 0.35),
            ),
            HairRanges(
                width=(0.9, 2.0),
                length=(0.35, 1.1),
                sheen=(0.0, 0.0),
                shadow=(0.15, 0.45),
                clump=(0.1, 0.5),
                model="polyline",
            ),
            LesionRanges(patch_edge=(0.8, 2.0), plaque_edge=(0.8, 1.5), scale_cells=(16, 28)),
            CameraRanges(
                inset=(0.0, 0.08),
                rotation=(-6.0, 6.0),
                distortion=(-0.06, 0.04),
                relief=(0.6, 1.2),
                shadow_odds=0.5,
                shadow=(0.2, 0.45),
                gradient=(0.1, 0.4),
                vignette=(0.1, 0.45),
                shine=(0.02, 0.2),
                exposure=(0.33, 0.55),
                auto_exposure=(0.3, 0.9),
                contrast=(0.85, 1.2),
                gamma=(0.9, 1.1),
                cast=0.05,
                warmth=(-0.08, 0.08),
                defocus=(0.25, 0.9),
                motion_odds=0.6,
                motion=(1.5, 4.0),
                resolution=(0.5, 0.9),
                read_noise=(0.015, 0.04),
                shot_noise=(0.03, 0.07),
                chroma=(0.2, 0.6),
                sharpen=(0.2, 0.9),
                jpeg=(50, 82),
            ),
        ),
        Style(
            "sketch",
            SkinRanges(
                variation=(1.0, 5.0),
                grain=(0.005, 0.02),
                pores=(150, 400),
                pore_depth=(0.15, 0.3),
                pore_size=(0.8, 1.4),
                opening_size=(1.0, 1.6),
                opening_depth=(0.3, 0.6),
                posterise=(2.5, 5.0),
            ),
            HairRanges(
                width=(1.5, 5.0),
                length=(0.25, 0.9),
                sheen=(0.0, 0.0),
                shadow=(0.0, 0.15),
                clump=(0.25, 0.6),
                model="locks",
            ),
            LesionRanges(
                patch_pale=(5.0, 10.0),
                patch_edge=(0.3, 0.6),
                patch_smooth=(0.7, 1.0),
                plaque_rough=(0.1, 0.35),
                plaque_edge=(0.3, 0.5),
                scale_cells=(10, 20),
                dome=0.0,
            ),
            CameraRanges(
                inset=(0.0, 0.03),
                rotation=(-3.0, 3.0),
                relief=(0.0, 0.3),
                shadow_odds=0.15,
                gradient=(0.0, 0.1),
                vignette=(0.0, 0.1),
                shine=(0.0, 0.03),
                exposure=(0.38, 0.55),
                auto_exposure=(0.0, 0.3),
                contrast=(1.0, 1.3),
                cast=0.02,
                warmth=(-0.02, 0.02),
                defocus=(0.0, 0.2),
                resolution=(0.6, 1.0),
                read_noise=(0.004, 0.01),
                shot_noise=(0.0, 0.005),
                chroma=(0.0, 0.0),
                jpeg=(88, 98),
            ),
        ),
        Style(
            "dermoscope",
            SkinRanges(
                variation=(1.5, 6.0),
                mottle=(1.0, 3.5),
                grain=(0.01, 0.04),
                pores=(40, 200),
                pore_depth=(0.05, 0.15),
                pore_size=(0.8, 1.4),
                opening_size=(1.3, 2.2),
                opening_depth=(0.3, 0.6),
                network=(0.0, 0.0),  # its network lies on the cells' borders instead
                cells=(5.0, 12.0),
                cell_tone=(0.005, 0.035),
                cell_network=(0.04, 0.16),
                white_dots=(0, 250),
                vessels=(0, 8),
            ),
            HairRanges(
                width=(2.0, 6.0),
                length=(0.3, 1.0),
                sheen=(0.0, 0.7),
                shadow=(0.0, 0.12),
                clump=(0.0, 0.2),
                shade_step=(1.5, 5.0),
                model="ribbon",
            ),
            LesionRanges(
                patch_pale=(3.0, 10.0),
                patch_edge=(0.3, 1.0),
                patch_smooth=(0.4, 0.8),
                patch_wobble=(0.0, 0.05),
                plaque_red=(20.0, 34.0),
                plaque_rough=(0.1, 0.3),
                plaque_edge=(0.4, 1.0),
                scale_cover=(0.3, 0.6),
                scale_lightness=(84.0, 93.0),
                pustule_halo=(1.3, 1.8),
                dome=0.4,
                model="dermoscopy",
            ),
            CameraRanges(
                inset=(0.0, 0.015),
                rotation=(-2.0, 2.0),
                distortion=(-0.04, 0.08),
                relief=(0.0, 0.35),
                shadow_odds=0.1,
                shadow=(0.1, 0.3),
                gradient=(0.0, 0.1),
                vignette=(0.0, 0.0),
                shine=(0.0, 0.03),
                exposure=(0.36, 0.55),
                auto_exposure=(0.2, 0.8),
                contrast=(1.0, 1.35),
                gamma=(0.85, 1.1),
                cast=0.03,
                warmth=(-0.08, 0.03),
                defocus=(0.1, 0.5),
                resolution=(0.7, 1.0),
                read_noise=(0.004, 0.02),
                shot_noise=(0.01, 0.04),
                chroma=(0.1, 0.5),
                sharpen=(0.0, 0.5),
                jpeg=(60, 95),
                scope=ScopeRanges(),
            ),
        ),
    )
}
STYLE_NAMES = tuple(STYLES)
# The held-out evaluation style: never drawn by `mix`, reachable only by name. The project measures the
# shift to it and never trains or tunes on it.
HELD_OUT_STYLES: tuple[str, ...] = ("dermoscope",)
TRAINING_STYLES: tuple[str, ...] = tuple(name for name in STYLE_NAMES if name not in HELD_OUT_STYLES)
CHOICES = (*STYLE_NAMES, MIX)


def parse(style: str) -> tuple[str, ...]:
    """The styles a --style value draws from: one name, `mix` (the training styles) or a comma list of
    them (a mix of just those, in STYLE_NAMES order so that the order written does not matter)."""
    names = [name.strip() for name in style.split(",")]
    for name in names:
        if name not in CHOICES:
            raise ValueError(
                f"unknown style {name!r}; choose from {', '.join(CHOICES)}, or a comma list of them"
            )
    wanted = {s for name in names for s in (TRAINING_STYLES if name == MIX else (name,))}
    return tuple(name for name in STYLE_NAMES if name in wanted)


def check_style(style: str) -> None:
    parse(style)


def choose(style: str, rng: np.random.Generator) -> Style:
    """The style itself, or for `mix` or a list one of its styles drawn from rng with equal odds."""
    names = parse(style)
    if len(names) == 1:
        return STYLES[names[0]]
    return STYLES[names[int(rng.integers(len(names)))]]
