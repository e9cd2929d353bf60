"""Real photos that are not scalps, from packages a training install has, for choosing the refusal threshold.

These are the gate's fitting negatives: the threshold never accepts one of them. scikit-image's photos
that the test suite refuses (the cat, the coffee, the astronaut, ...) are deliberately not among them, so
the tests show refusals of photos the gate's fitting never saw.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from PIL import Image

FILES = (
    ("sklearn.datasets.images", "china.jpg"),
    ("sklearn.datasets.images", "flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("skimage.data", "cell.png"),
    ("skimage.data", "microaneurysms.png"),
    ("skimage.data", "motorcycle_right.png"),
    ("skimage.data", "chessboard_RGB.png"),
    ("skimage.data", "logo.png"),
)


def photos() -> list[Image.Image]:
    """Every fitting negative that is installed, as RGB (a missing package just gives fewer)."""
    found = []
    for package, name in FILES:
        try:
            path = resources.files(package).joinpath(name)
            with Image.open(str(path)) as img:
                found.append(_rgb(img))
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            continue
    return found


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I"):
        return Image.fromarray((np.asarray(img, np.float32) / 256).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")
