"""Uploaded bytes -> a small, upright RGB image, refusing anything unsafe or undecodable.

Limits come first: the byte count before anything is parsed, the pixel count from the header before any
pixel is decoded (a tiny PNG can claim 100 000 x 100 000 pixels; decoding it would exhaust memory). Only
JPEG, PNG and WebP are accepted, the formats phones and browsers produce. Decoding is done at the smallest
scale that still covers the model's input: a JPEG is decoded in draft mode (the DCT is scaled down by 1/2,
1/4 or 1/8 inside libjpeg, so a 12 MP photo is never decoded at full size); then every format is
box-reduced so that everything downstream works on a few hundred pixels.

Choices worth knowing:
- Animated PNG/WebP files are refused: a photo of a scalp is a still image, and picking one frame of an
  animation would assess something the user did not choose. A JPEG carrying several pictures (MPO, as
  some phones write with a depth map) is read as its first, primary picture.
- Transparency is composited on white, as browsers and image viewers show it; black would turn a cut-out
  photo into a dark one and trip the brightness gate for no reason.
- 16-bit greyscale is scaled to 8 bits (Pillow's plain conversion would clip it to white).
- Embedded colour profiles are not converted: training images are read the same way (scalpcheck.preprocess),
  and the model must see at serving time what it saw in training.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image

from scalpcheck.errors import ImageRejected
from scalpcheck.i18n import N_, text

log = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP")
ORIENTATION_TAG = 0x0112
# Pillow reads a JPEG with multi-picture data (many phone cameras write one) as MPO; it is a JPEG.
_FORMAT_NAMES = {"MPO": "JPEG"}
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# 16-bit greyscale PNGs open in these modes; their full scale is 65535.
_WIDE_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # RGB, upright; short side in [min_side, 2 * min_side) unless the photo is smaller
    format: str  # "JPEG", "PNG" or "WEBP"
    width: int  # pixel size as stored in the file, before the EXIF orientation is applied
    height: int
    orientation: int  # EXIF orientation tag, 1 (upright) when absent

    @property
    def upright_size(self) -> tuple[int, int]:
        """The photo's size as the user sees it: orientations 5 to 8 swap width and height."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def _unsupported(message: str | None = None) -> ImageRejected:
    return ImageRejected("unsupported_image", message)


def decode(data: bytes, *, max_bytes: int, max_pixels: int, min_side: int) -> Decoded:
    """Decode an upload for assessment; raises ImageRejected (scalpcheck.errors).

    `min_side` is the smallest short side the caller needs (the model's input size): decoding stops at the
    coarsest scale that still gives at least that many pixels.
    """
    if not data:
        raise _unsupported(N_("The file is empty. Please choose a photo and try again."))
    if len(data) > max_bytes:
        raise ImageRejected(
            "image_too_large",
            text(
                "The file is %(size)s MB; the limit is %(limit)s MB. Please upload a smaller photo.",
                size=f"{len(data) / 2**20:.1f}",
                limit=f"{max_bytes / 2**20:.0f}",
            ),
        )
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # any decoder failure on untrusted bytes means "not a readable photo"
        log.debug("image header rejected: %s", exc)
        raise _unsupported() from exc
    width, height = img.size
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels)
    fmt = _FORMAT_NAMES.get(img.format or "", img.format or "")
    # A JPEG's extra pictures (MPO: depth maps, stereo pairs) are not an animation: its first is the photo.
    if fmt != "JPEG" and getattr(img, "n_frames", 1) > 1:
        raise _unsupported(N_("Animated images are not supported. Please upload a still photo."))
    try:
        if fmt == "JPEG":
            img.draft("RGB", (min_side, min_side))
        img.load()
        orientation = _orientation(img)
        # RGB first: box-reducing palette indices or bilevel pixels would be meaningless (and Pillow
        # refuses those modes).
        upright = _upright(_reduce(_to_rgb(img), min_side), orientation)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # truncated or corrupt pixel data
        log.debug("image data rejected: %s", exc)
        raise _unsupported(
            N_(
                "This photo's file is damaged or incomplete. "
                "Please take or export the photo again and upload it."
            )
        ) from exc
    return Decoded(image=upright, format=fmt, width=width, height=height, orientation=orientation)


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        "image_too_large",
        text(
            "The photo has too many pixels (the limit is %(limit)s megapixels). "
            "Please upload a smaller photo.",
            limit=f"{max_pixels / 1e6:.0f}",
        ),
    )


def _orientation(img: Image.Image) -> int:
    value = img.getexif().get(ORIENTATION_TAG, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# The transposition that shows a photo with EXIF orientation 2..8 upright (as Pillow's exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    """The pixels turned upright. ImageOps.exif_transpose does the same and also rewrites the EXIF data
    for the new image, which nothing downstream reads."""
    return img.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else img


def _reduce(img: Image.Image, min_side: int) -> Image.Image:
    """Box-reduce by the largest integer factor that keeps the short side at least `min_side`.

    A JPEG already came out of draft mode at most twice too large (up to 8x more for huge photos, whose
    draft scale stops at 1/8); PNG and WebP decode at full size.
    """
    factor = min(img.size) // min_side
    return img.reduce(factor) if factor >= 2 else img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in _WIDE_INT_MODES:
        grey = np.asarray(img, dtype=np.float32) * np.float32(255 / 65535)
        return Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in _ALPHA_MODES:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK (Adobe-inverted CMYK is undone by Pillow's JPEG reader), YCbCr
