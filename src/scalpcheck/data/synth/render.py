"""One phantom, from its plan to its JPEG bytes.

A plan is drawn in two steps from the scene's stream: first the nuisance (skin, hair, confounders),
which never sees the label, then the label's look. Each photograph of it draws a camera from the shot's
stream. Drawing follows the light's path: skin and the lesions under the hair, the hair with its
shadows (supersampled), what lies on the hair, and finally the camera. The scene draws only from the
scene's stream, so every shot of a scalp shows the same skin, hair and lesions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from scalpcheck.data.synth import hair, lesions, strands
from scalpcheck.data.synth.camera import Camera, develop, encode_jpeg, sample_camera
from scalpcheck.data.synth.canvas import Canvas, Light, blend, to_uint8
from scalpcheck.data.synth.confounders import draw_flakes
from scalpcheck.data.synth.head import Head, sample_head
from scalpcheck.data.synth.labels import Look, sample_look
from scalpcheck.data.synth.seeds import split
from scalpcheck.data.synth.skin import (
    SkinLook,
    base_skin,
    finish_skin,
    paint_vessels,
    posterise_rgb,
    sample_skin,
)
from scalpcheck.data.synth.skintone import sample_tone
from scalpcheck.data.synth.styles import DEFAULT_STYLE, STUDIO, STYLES, check_style, choose
from scalpcheck.tasks import TASKS

MIN_SIZE, MAX_SIZE = 64, 4096


@dataclass(frozen=True)
class Nuisance:
    """Everything about a scalp that is not its label."""

    skin: SkinLook
    head: Head
    flakes: int  # dandruff flakes

    @property
    def tone(self) -> tuple[float, float, float]:
        return self.skin.tone


@dataclass(frozen=True)
class Plan:
    task: str
    label: str
    style: str
    nuisance: Nuisance
    look: Look


@dataclass
class Layers:
    """The drawn scene and what the manifest and the tests need to know of it."""

    rgb: np.ndarray  # scene radiance, float32 [size, size, 3]
    strands: hair.Strands  # every strand drawn
    density: float  # the head's hair left in view, as a share of a full head's, before miniaturisation
    lesion_mask: np.ndarray | None  # alopecia patches or psoriasis plaques, float32 [size, size]
    pustules: lesions.Pustules | None


@dataclass(frozen=True)
class Photo:
    plan: Plan
    camera: Camera
    layers: Layers
    pixels: np.ndarray  # uint8 RGB, before JPEG compression
    scalp_id: str

    def jpeg(self) -> bytes:
        """The phantom's file, compressed at the quality its camera drew."""
        return encode_jpeg(self.pixels, self.camera.jpeg_quality)

    def image(self) -> Image.Image:
        """Exactly the pixels the file decodes to."""
        with Image.open(io.BytesIO(self.jpeg())) as img:
            return img.convert("RGB")


def sample_nuisance(rng: np.random.Generator, style: str = STUDIO) -> Nuisance:
    ranges = STYLES[style]
    skin = sample_skin(rng, ranges.skin, sample_tone(rng))
    return Nuisance(skin=skin, head=sample_head(rng, ranges.hair, skin.tone), flakes=int(rng.integers(0, 9)))


def check_label(task: str, label: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if label not in TASKS[task].labels:
        raise ValueError(
            f"unknown label {label!r} for task {task}; choose from {', '.join(TASKS[task].labels)}"
        )


def plan_phantom(task: str, label: str, rng: np.random.Generator, style: str = STUDIO) -> Plan:
    """The scalp's plan in one (not `mix`) style, from the scene's stream."""
    check_label(task, label)
    nuisance = sample_nuisance(rng, style)  # first, and without the label: identical for every label
    return Plan(task, label, style, nuisance, sample_look(task, label, rng, STYLES[style].lesions))


def _follicle_openings(rng: np.random.Generator, follicles: hair.Follicles) -> tuple[np.ndarray, np.ndarray]:
    """Openings in view; an empty follicle (after thinning) shows fainter than one holding hair."""
    in_view = np.all((follicles.xy >= 0) & (follicles.xy < 1), axis=1)
    xy, hairs = follicles.xy[in_view], follicles.hairs[in_view]
    depth = np.where(hairs > 0, rng.uniform(0.7, 1.2, len(xy)), rng.uniform(0.35, 0.55, len(xy)))
    return xy, depth


def draw_scene(plan: Plan, rng: np.random.Generator, size: int, light: Light) -> Layers:
    """The scalp as the light leaves it, before the camera; draws only from rng."""
    canvas = Canvas(size)
    nz, look, ranges = plan.nuisance, plan.look, STYLES[plan.style].lesions
    head = nz.head
    finest = strands.finest_width(canvas)
    follicles, grown, ink = hair.grow(rng, head, look.growth, finest)
    skin = base_skin(rng, canvas, nz.skin)
    paint_vessels(rng, canvas, skin, nz.skin)
    dermoscopy = ranges.model == "dermoscopy"
    extra, mask = [], None
    if look.patches:
        mask = lesions.paint_patches(rng, canvas, skin, look.patches, ranges)
        grown = lesions.clear_patches(follicles, grown, look.patches)
        extra.append(lesions.rim_stubs(rng, head, look.patches))
        if dermoscopy:
            lesions.paint_yellow_dots(rng, canvas, skin, follicles, look.patches, mask, ranges)
    kept = hair.ink_in_frame(grown, finest).sum() if look.patches else ink.kept  # patches cut strands
    density = float(kept / max(ink.full, 1e-9))
    overlays = []
    if look.psoriasis:
        mask = (lesions.blob_plaque_mask if dermoscopy else lesions.plaque_mask)(rng, canvas, ranges)
        overlays = lesions.paint_plaque(rng, canvas, skin, mask, nz.tone[0], ranges, light, flaky=dermoscopy)
    pustules = None
    if look.folliculitis:
        pustules = lesions.sample_pustules(rng, follicles, ranges)
        lesions.paint_erythema(skin, pustules, nz.tone[0])
    drawn = hair.Strands.concat([hair.miniaturise(grown, look.growth), *extra])

    rgb = finish_skin(rng, canvas, skin, nz.skin, *_follicle_openings(rng, follicles))
    rgb *= 1 - light.relief * strands.draw_shadows(canvas, drawn, head, light.angle)[..., None]
    colours = strands.palette(head, look.growth, np.asarray(nz.tone))
    side = size * canvas.supersample
    # nearest: averaging the supersampled image back down then returns the skin exactly as it was
    fine = cv2.resize(to_uint8(rgb), (side, side), interpolation=cv2.INTER_NEAREST)
    strands.draw_strands(rng, fine, drawn, colours, head.model)
    if pustules is not None:
        lesions.draw_pustules(fine, pustules, nz.tone, ranges.dome, light)
        emerging = lesions.emerging_hairs(rng, head, pustules)
        strands.draw_strands(rng, fine, emerging, colours, head.model)
        drawn = hair.Strands.concat([drawn, emerging])
    draw_flakes(rng, fine, nz.flakes)
    scene = cv2.resize(fine, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    for layer in overlays:
        colour = layer.rgb
        if nz.skin.posterise:
            colour = posterise_rgb(colour, nz.skin.posterise, nz.tone)
        blend(scene, colour, layer.alpha)
    return Layers(scene, drawn, density, mask, pustules)


def shoot(
    plan: Plan, scene_rng: np.random.Generator, shot_rng: np.random.Generator, size: int
) -> tuple[Camera, Layers, np.ndarray]:
    """Draw the scene from scene_rng and photograph it with a camera drawn from shot_rng."""
    camera = sample_camera(shot_rng, STYLES[plan.style].camera)
    layers = draw_scene(plan, scene_rng, size, Light(camera.light_angle, camera.relief))
    return camera, layers, develop(shot_rng, Canvas(size), layers.rgb, camera, plan.look.shine)


def draw(
    plan: Plan, rng: np.random.Generator, size: int, shot_rng: np.random.Generator | None = None
) -> np.ndarray:
    """The phantom as uint8 RGB pixels [size, size, 3], before JPEG compression."""
    return shoot(plan, rng, rng if shot_rng is None else shot_rng, size)[2]


def check_size(size: int) -> None:
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, got {size}")


def photograph(
    task: str,
    label: str,
    rng: np.random.Generator,
    size: int = 256,
    style: str = DEFAULT_STYLE,
    shot: int = 0,
) -> Photo:
    """Shot number `shot` of the scalp rng stands for; every shot of it has the same scene."""
    check_size(size)
    check_style(style)
    check_label(task, label)
    streams = split(rng)
    chosen = choose(style, streams.style())
    scene_rng = streams.scene()
    plan = plan_phantom(task, label, scene_rng, chosen.name)
    camera, layers, pixels = shoot(plan, scene_rng, streams.shot(shot), size)
    return Photo(plan, camera, layers, pixels, streams.scalp_id)


def render_phantom(
    task: str,
    label: str,
    rng: np.random.Generator,
    size: int = 256,
    style: str = DEFAULT_STYLE,
    shot: int = 0,
) -> Image.Image:
    """One phantom as an RGB image: exactly the pixels its JPEG file decodes to.

    shot > 0 photographs the same scalp again (a re-shoot): same scene, another camera draw.
    """
    return photograph(task, label, rng, size, style, shot).image()
