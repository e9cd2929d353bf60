"""Things in any class that carry no label: dandruff flakes (the shadow and the tilt are camera.py's)."""

from __future__ import annotations

import cv2
import numpy as np

from scalpcheck.data.synth.canvas import SHIFT, fixed_point, lab_to_rgb, to_uint8


def draw_flakes(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """A few small, irregular off-white specks lying on hair and skin, on a uint8 RGB image in place."""
    side = image.shape[0]
    for group in np.array_split(np.arange(count), 2):
        if not len(group):
            continue
        colour = to_uint8(
            lab_to_rgb(np.asarray([rng.uniform(86, 97), rng.uniform(-1, 2), rng.uniform(3, 12)]))
        )
        polygons = []
        for _ in group:
            centre = rng.random(2)
            corners = int(rng.integers(5, 8))
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
            radii = rng.uniform(0.6, 2.2) / 256 * rng.uniform(0.55, 1.0, corners)
            outline = centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            polygons.append(fixed_point(outline, side))
        cv2.fillPoly(image, polygons, colour.tolist(), cv2.LINE_AA, SHIFT)
