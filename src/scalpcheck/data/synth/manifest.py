"""DIR/manifest.csv: one row per clean phantom with what it shows, for grouping results by it.

Scene columns (the same for every shot of a scalp):
  path          the image, relative to DIR, forward slashes
  label, style  its label and the style it was drawn in
  scalp_id      the rendered scalp (every shot of it shares it; training keeps them in one split)
  skin_L, skin_a, skin_b   CIELAB of the base skin tone
  skin_ita      Individual Typology Angle of that tone, degrees
  skin_group    its ITA category (skintone.py): very_light, light, intermediate, tan, brown, dark
  skin_third    light (very_light, light), medium (intermediate, tan) or dark (brown, dark)
  hair_colour, hair_curl   black ... grey; straight, wavy, curly or coily
  hair_width    median width of the strands drawn, as a share of the image width (empty if none)
  density       hair left in view as a share of a full head's, as drawn (alopecia: less its patches)
  lesion_count  alopecia patches, psoriasis plaques or folliculitis pustules (0 for the others)
  lesion_area   the share of the scene they cover
Photograph columns (drawn per shot):
  shot          0 for a scalp's first photo, 1.. for its re-shoots
  blur, motion_blur   defocus sigma and motion streak length, as shares of the image width
  noise         sensor noise (standard deviation at mid-grey, 0..1 scale)
  resolution    the sensor's side over the image's (below 1: upscaled)
  field_stop    radius of a trichoscope's or dermoscope's round field of view (frame widths), 0 for none
  jpeg_quality
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2
import numpy as np

from scalpcheck.data.synth.camera import sensor_side
from scalpcheck.data.synth.render import Photo
from scalpcheck.data.synth.skintone import group, ita, third

NAME = "manifest.csv"
COLUMNS = (
    "path", "label", "style", "scalp_id", "shot", "skin_L", "skin_a", "skin_b", "skin_ita", "skin_group",
    "skin_third", "hair_colour", "hair_curl", "hair_width", "density", "lesion_count", "lesion_area",
    "blur", "motion_blur", "noise", "resolution", "field_stop", "jpeg_quality",
)  # fmt: skip
SMALLEST_PLAQUE = 0.002  # share of the image below which a speck of plaque is not counted as one


def _lesions(photo: Photo) -> tuple[int, float]:
    look, layers = photo.plan.look, photo.layers
    if look.folliculitis and layers.pustules is not None:
        return len(layers.pustules.radii), float(np.sum(np.pi * layers.pustules.radii**2))
    if layers.lesion_mask is None:
        return 0, 0.0
    if look.patches:
        return len(look.patches), float(layers.lesion_mask.mean())
    binary = (layers.lesion_mask > 0.5).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    plaques = int(np.sum(stats[1:, cv2.CC_STAT_AREA] >= SMALLEST_PLAQUE * binary.size))
    return plaques, float(binary.mean())


def record(photo: Photo, path: str, shot: int = 0) -> dict[str, str]:
    """The manifest row of one phantom written at `path` (relative to the dataset)."""
    nz, cam, size = photo.plan.nuisance, photo.camera, photo.pixels.shape[0]
    lightness, a, b = nz.tone
    angle = ita(lightness, b)
    widths = photo.layers.strands.width
    count, area = _lesions(photo)
    row = {
        "path": path,
        "label": photo.plan.label,
        "style": photo.plan.style,
        "scalp_id": photo.scalp_id,
        "shot": str(shot),
        "skin_L": f"{lightness:.2f}",
        "skin_a": f"{a:.2f}",
        "skin_b": f"{b:.2f}",
        "skin_ita": f"{angle:.2f}",
        "skin_group": group(angle),
        "skin_third": third(angle),
        "hair_colour": nz.head.colour,
        "hair_curl": nz.head.curl.kind,
        "hair_width": f"{float(np.median(widths)) / 256:.5f}" if len(widths) else "",
        "density": f"{photo.layers.density:.4f}",
        "lesion_count": str(count),
        "lesion_area": f"{area:.4f}",
        "blur": f"{cam.defocus / 256:.5f}",
        "motion_blur": f"{cam.motion / 256:.5f}",
        "noise": f"{np.sqrt(cam.read_noise**2 + cam.shot_noise**2 * 0.5):.4f}",
        "resolution": f"{sensor_side(size, cam.resolution) / size:.3f}",
        "field_stop": f"{cam.field_stop:.3f}",
        "jpeg_quality": str(cam.jpeg_quality),
    }
    return row


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
