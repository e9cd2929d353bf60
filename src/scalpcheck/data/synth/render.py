"""One phantom, from its plan to its JPEG bytes.

A plan is drawn in two steps from the image's own generator: first the nuisance (skin, hair style,
camera, confounders), which never sees the label, then the label's look. Drawing then follows the
light's path: skin and the lesions under the hair, the hair with its shadows (supersampled), what lies
on the hair, and finally the camera.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from scalpcheck.data.synth import hair, lesions
from scalpcheck.data.synth.camera import Camera, develop, encode_jpeg, sample_camera
from scalpcheck.data.synth.canvas import Canvas, blend, to_uint8
from scalpcheck.data.synth.confounders import draw_flakes
from scalpcheck.data.synth.labels import Look, sample_look
from scalpcheck.data.synth.skin import base_skin, finish_skin, sample_tone
from scalpcheck.tasks import TASKS

MIN_SIZE, MAX_SIZE = 64, 4096


@dataclass(frozen=True)
class Nuisance:
    """Everything about a photo that is not its label."""

    tone: tuple[float, float, float]  # skin Lab
    style: hair.HairStyle
    camera: Camera
    flakes: int  # dandruff flakes


@dataclass(frozen=True)
class Plan:
    task: str
    label: str
    nuisance: Nuisance
    look: Look


def sample_nuisance(rng: np.random.Generator) -> Nuisance:
    tone = sample_tone(rng)
    return Nuisance(
        tone=tone,
        style=hair.sample_style(rng, tone),
        camera=sample_camera(rng),
        flakes=int(rng.integers(0, 9)),
    )


def check_label(task: str, label: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if label not in TASKS[task].labels:
        raise ValueError(
            f"unknown label {label!r} for task {task}; choose from {', '.join(TASKS[task].labels)}"
        )


def plan_phantom(task: str, label: str, rng: np.random.Generator) -> Plan:
    check_label(task, label)
    nuisance = sample_nuisance(rng)  # first, and without the label: identical for every label
    return Plan(task, label, nuisance, sample_look(task, label, rng))


def _follicle_openings(rng: np.random.Generator, follicles: hair.Follicles) -> tuple[np.ndarray, np.ndarray]:
    """Openings in view; an empty follicle (after thinning) shows fainter than one holding hair."""
    in_view = np.all((follicles.xy >= 0) & (follicles.xy < 1), axis=1)
    xy, hairs = follicles.xy[in_view], follicles.hairs[in_view]
    depth = np.where(hairs > 0, rng.uniform(0.25, 0.45, len(xy)), rng.uniform(0.12, 0.22, len(xy)))
    return xy, depth


def draw(plan: Plan, rng: np.random.Generator, size: int) -> np.ndarray:
    """The phantom as uint8 RGB pixels [size, size, 3], before JPEG compression."""
    canvas = Canvas(size)
    nz, look = plan.nuisance, plan.look
    follicles, strands = hair.grow(rng, nz.style, look.growth, hair.finest_width(canvas))
    skin = base_skin(rng, canvas, nz.tone)
    extra = []
    if look.patches:
        lesions.paint_patches(rng, canvas, skin, look.patches)
        strands = lesions.clear_patches(follicles, strands, look.patches)
        extra.append(lesions.rim_stubs(rng, nz.style, look.patches))
    overlays = []
    if look.psoriasis:
        overlays = lesions.paint_plaque(rng, canvas, skin, lesions.plaque_mask(rng, canvas), nz.tone[0])
    pustules = None
    if look.folliculitis:
        pustules = lesions.sample_pustules(rng, follicles)
        lesions.paint_erythema(skin, pustules, nz.tone[0])
    strands = hair.Strands.concat([strands, *extra])

    rgb = finish_skin(rng, canvas, skin, *_follicle_openings(rng, follicles))
    rgb *= 1 - hair.draw_shadows(canvas, strands, nz.style)[..., None]
    body, sheen = hair.palette(nz.style, look.growth, np.asarray(nz.tone))
    side = size * canvas.supersample
    # nearest: averaging the supersampled image back down then returns the skin exactly as it was
    fine = cv2.resize(to_uint8(rgb), (side, side), interpolation=cv2.INTER_NEAREST)
    hair.draw_strands(rng, fine, strands, body, sheen)
    if pustules is not None:
        lesions.draw_pustules(rng, fine, pustules, nz.tone)
        hair.draw_strands(rng, fine, lesions.emerging_hairs(rng, nz.style, pustules), body, sheen)
    draw_flakes(rng, fine, nz.flakes)
    scene = cv2.resize(fine, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    for layer in overlays:
        blend(scene, layer.rgb, layer.alpha)
    return develop(rng, canvas, scene, nz.camera, look.shine)


def render_jpeg(task: str, label: str, rng: np.random.Generator, size: int = 256) -> bytes:
    """The phantom's JPEG file, compressed at the quality its camera drew."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, got {size}")
    plan = plan_phantom(task, label, rng)
    return encode_jpeg(draw(plan, rng, size), plan.nuisance.camera.jpeg_quality)


def render_phantom(task: str, label: str, rng: np.random.Generator, size: int = 256) -> Image.Image:
    """One phantom as an RGB image: exactly the pixels its JPEG file decodes to."""
    with Image.open(io.BytesIO(render_jpeg(task, label, rng, size))) as img:
        return img.convert("RGB")
