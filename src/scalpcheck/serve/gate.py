"""The quality gate: refuse photos too small, blurry, dark or bright, with a reason a patient can act on.

The measures and thresholds live in scalpcheck.quality (shared with `scalpcheck clean`, so a photo the
cleaner would quarantine from a dataset is one the app refuses). They run on the already downscaled image,
which is also the scale the model sees; only the size check uses the photo's own size.
"""

from __future__ import annotations

import dataclasses

from PIL import Image

from scalpcheck import quality
from scalpcheck.errors import ImageRejected

_MESSAGES = {
    "image_too_blurry": (
        "The photo is blurry. Hold the phone steady, about 10 cm from the scalp, wait for it to focus, "
        "and take the photo again."
    ),
    "image_too_dark": (
        "The photo is too dark. Please take it again in good, even light, for example near a window "
        "in daylight."
    ),
    "image_too_bright": (
        "The photo is too bright and washed out. Avoid direct sunlight or a flash aimed at the scalp, "
        "and take the photo again in softer light."
    ),
}


def check(
    image: Image.Image, photo_size: tuple[int, int], limits: quality.QualityLimits | None = None
) -> None:
    """Raise ImageRejected with the first quality problem of `image` (the photo, `photo_size` pixels)."""
    limits = limits or quality.QualityLimits()
    stats = dataclasses.replace(quality.measure(image), width=photo_size[0], height=photo_size[1])
    found = quality.problems(stats, limits)
    if not found:
        return
    code = found[0]
    if code == "image_too_small":
        message = (
            f"The photo is too small ({photo_size[0]} x {photo_size[1]} pixels). Please upload a photo at "
            f"least {limits.min_side} pixels on each side, taken close to the scalp."
        )
    else:
        message = _MESSAGES[code]
    raise ImageRejected(code, message)
