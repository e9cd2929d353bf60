"""Photos to assess or upload: phantoms, a texture that passes the quality gate, real photos that are not
scalps, and the file bytes of an image."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# The transposition that stores an upright photo under each EXIF orientation (the inverse of the one a
# viewer applies to show it upright).
STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

# Real photos scikit-image ships that pass the quality gate: animals, objects, faces, landscapes, text and
# other medical images. A scalp model must refuse every one of them.
NON_SCALP = (
    "chelsea",
    "coffee",
    "astronaut",
    "rocket",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "colorwheel",
    "camera",
    "moon",
    "clock",
    "coins",
    "cat",
)


def encode(img: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    """The image's file bytes in `fmt`, saved with Pillow's `params` (Pillow's defaults otherwise)."""
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_bytes(img: Image.Image, **params) -> bytes:
    """The image as a JPEG, at quality 90 unless `params` says otherwise."""
    return encode(img, "JPEG", quality=params.pop("quality", 90), **params)


STYLE = "studio"  # the phantom style the tests' small trained models learn and the web tests upload
# Those models refuse about 1 new phantom in 100 as unlike their training photos (healthy seed 7, red hair on
# red skin, is one); a test that needs an accepted upload uses a seed they accept.


def phantom(task: str = "scalp", label: str = "healthy", seed: int = 0, size: int = 256) -> Image.Image:
    """A synthetic scalp photo (PIL, RGB) drawn by the phantom generator, in the tests' one style."""
    from scalpcheck.data.synth import render_phantom

    return render_phantom(task, label, np.random.default_rng(seed), size=size, style=STYLE)


def phantom_jpeg(task: str = "scalp", label: str = "healthy", seed: int = 0, size: int = 256) -> bytes:
    """The JPEG bytes (quality 90) of phantom(task, label, seed, size)."""
    return jpeg_bytes(phantom(task, label, seed, size))


def scalp_photo(size: int = 320, seed: int = 0) -> Image.Image:
    """A sharp, mid-bright texture of dark strands on skin tone (RGB): passes the quality gate, and is
    quicker to make than a phantom."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) / 2.5 + rng.uniform(0, 6)) > 0.6
    skin = np.array([205, 160, 135], np.float32) * (0.9 + 0.1 * np.sin(x / 40.0))[..., None]
    rgb = np.where(stripes[..., None], np.array([60, 40, 30], np.float32), skin)
    rgb += rng.normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def non_scalp_photos() -> dict[str, Image.Image]:
    """{name: RGB photo}: every photo of NON_SCALP, a motorcycle and five faces."""
    from skimage import data

    photos = {}
    for name in NON_SCALP:
        pixels = np.asarray(getattr(data, name)())
        photos[name] = Image.fromarray(pixels).convert("RGB")
    photos["motorcycle"] = Image.fromarray(data.stereo_motorcycle()[0])
    for k, face in enumerate(data.lfw_subset()[:5]):
        photos[f"face_{k}"] = Image.fromarray((face * 255).astype(np.uint8)).convert("RGB")
    return photos


def phone_jpeg(scene: Image.Image, seed: int = 0) -> bytes:
    """`scene` as a phone's 12 MP JPEG: 4032 x 3024 pixels with sensor noise, the rows stored sideways with
    EXIF orientation 6 ("rotate 90° to show upright") as phones write them, quality 92."""
    rng = np.random.default_rng(seed)
    side = 4032
    square = scene.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    pixels = np.asarray(square.crop((0, (side - 3024) // 2, side, (side + 3024) // 2)), np.int16)
    pixels = pixels + rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), "JPEG", quality=92, exif=exif)
