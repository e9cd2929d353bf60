"""The quality gate: refuse photos too small, blurry, dark, bright or black and white, with a reason a patient
can act on.

The measures and thresholds live in scalpcheck.quality (shared with `scalpcheck clean`, so a photo the
cleaner would quarantine from a dataset is one the app refuses). They run on the already downscaled image,
which is also the scale the model sees; only the size check uses the photo's own size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from scalpcheck import quality
from scalpcheck.errors import ImageRejected
from scalpcheck.i18n import N_, text

# Mean chroma (YCbCr, 0..~180) below which a photo has no colour at all: a black-and-white picture. Colour
# is a cue (redness, skin tone), and every phantom of every style measures several times more.
MIN_COLOURFULNESS = 0.3
BLACK_AND_WHITE = N_(
    "This photo is in black and white. Colour matters to the assessment (redness, skin tone): please take "
    "a colour photo looking straight down at the scalp."
)


def colourfulness(image: Image.Image) -> float:
    """The mean distance of the pixels from grey in the YCbCr plane: 0 for a black-and-white picture."""
    pixels = np.asarray(image.convert("YCbCr"), dtype=np.float32)
    return float(np.hypot(pixels[..., 1] - 128, pixels[..., 2] - 128).mean())


def check(
    image: Image.Image, photo_size: tuple[int, int], limits: quality.QualityLimits | None = None
) -> None:
    """Raise ImageRejected with the first quality problem of `image` (the photo, `photo_size` pixels)."""
    limits = limits or quality.QualityLimits()
    stats = dataclasses.replace(quality.measure(image), width=photo_size[0], height=photo_size[1])
    found = quality.problems(stats, limits)
    if not found:
        if colourfulness(image) < MIN_COLOURFULNESS:
            raise ImageRejected("not_a_scalp_image", BLACK_AND_WHITE)
        return
    code = found[0]
    if code == "image_too_small":  # the sizes tell the user how far off the photo is
        raise ImageRejected(
            code,
            text(
                "The photo is too small (%(width)s x %(height)s pixels). Please upload a photo at "
                "least %(side)s pixels on each side, taken close to the scalp.",
                width=photo_size[0],
                height=photo_size[1],
                side=limits.min_side,
            ),
        )
    raise ImageRejected(code)  # the table's message (scalpcheck.errors)
