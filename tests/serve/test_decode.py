"""Decoding uploads: limits before parsing, only JPEG/PNG/WebP, upright, small, RGB."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from scalpcheck.errors import ImageRejected
from scalpcheck.serve.decode import decode
from tests.helpers.photos import STORE_AS, encode, scalp_photo

LIMITS = {"max_bytes": 20 * 2**20, "max_pixels": 64_000_000, "min_side": 224}


def rejected(data: bytes, **limits) -> str:
    with pytest.raises(ImageRejected) as info:
        decode(data, **{**LIMITS, **limits})
    assert info.value.message and "\n" not in info.value.message
    return info.value.code


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height RGB pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * width) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def asymmetric(width: int = 300, height: int = 260) -> Image.Image:
    """Smooth gradients and one dark corner: every wrong flip or turn moves them, and JPEG keeps them."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([40 + 180 * x / width, 40 + 180 * y / height, np.full_like(x, 120)], axis=-1)
    rgb[: height // 4, : width // 4] = 20
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def stored_with_orientation(upright: Image.Image, orientation: int, fmt: str) -> bytes:
    method = STORE_AS[orientation]
    stored = upright.transpose(method) if method is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, fmt, exif=exif.tobytes(), quality=95)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is a text file with a .jpg name\n",
        b"<!doctype html><html><body><img src=x></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><circle r="50"/></svg>',
        b"\xff\xd8\xff",  # a JPEG signature and nothing else
    ],
    ids=["empty", "text", "html", "svg", "jpeg-signature-only"],
)
def test_non_images_are_unsupported(data):
    assert rejected(data) == "unsupported_image"


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "PDF", "ICO", "PPM"])
def test_other_image_formats_are_unsupported(fmt):
    assert rejected(encode(scalp_photo(256), fmt)) == "unsupported_image"


def test_truncated_jpeg_is_unsupported():
    data = encode(scalp_photo(400), quality=90)
    assert rejected(data[: len(data) * 2 // 3]) == "unsupported_image"


def test_too_many_bytes_is_refused_before_parsing():
    assert rejected(b"\0" * 1001, max_bytes=1000) == "image_too_large"


@pytest.mark.parametrize("side", [9000, 20000], ids=["over-our-limit", "over-pillows-bomb-limit"])
def test_png_bomb_is_refused_from_its_header(side):
    data = png_claiming(side, side)
    assert len(data) < 200_000
    # Decoding the rows would fail as truncated (unsupported_image): image_too_large proves no pixel was read.
    assert rejected(data) == "image_too_large"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animations_are_refused(fmt):
    frames = [scalp_photo(256, seed) for seed in range(3)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert rejected(data) == "unsupported_image"


def test_multi_picture_jpeg_is_read_as_its_first_picture():
    photo = scalp_photo(300)
    data = encode(photo, "MPO", save_all=True, append_images=[Image.new("RGB", (300, 300))], quality=95)
    decoded = decode(data, **LIMITS)
    assert decoded.format == "JPEG"
    difference = np.abs(np.asarray(decoded.image, np.int16) - np.asarray(photo, np.int16)).mean()
    assert difference < 10  # the photo, not the black second picture


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats(fmt):
    decoded = decode(encode(scalp_photo(300), fmt), **LIMITS)
    assert decoded.format == fmt
    assert decoded.image.mode == "RGB" and decoded.image.size == (300, 300)
    assert (decoded.width, decoded.height, decoded.orientation) == (300, 300, 1)


def test_phone_jpeg_is_draft_decoded_near_the_model_size():
    photo = scalp_photo(512).resize((4032, 3024), Image.Resampling.BILINEAR)
    decoded = decode(encode(photo, quality=90), **LIMITS)
    assert (decoded.width, decoded.height) == (4032, 3024)
    assert decoded.image.size == (504, 378)  # libjpeg's 1/8 scale: the full image was never decoded


def test_large_png_is_reduced_near_the_model_size():
    decoded = decode(encode(scalp_photo(400).resize((1800, 1200)), "PNG", compress_level=1), **LIMITS)
    assert decoded.image.size == (360, 240)
    assert 224 <= min(decoded.image.size) < 448


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_exif_orientation_is_applied(orientation, fmt):
    upright = asymmetric()
    decoded = decode(stored_with_orientation(upright, orientation, fmt), **LIMITS)
    assert decoded.orientation == orientation
    assert decoded.image.size == upright.size
    assert decoded.upright_size == upright.size
    difference = np.abs(np.asarray(decoded.image, np.int16) - np.asarray(upright, np.int16)).mean()
    assert difference < (0.01 if fmt == "PNG" else 2)


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "LA", "CMYK"])
def test_large_images_of_every_mode_are_reduced(mode):
    img = Image.new(mode, (1000, 800))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    decoded = decode(encode(img, fmt), **LIMITS)
    assert decoded.image.mode == "RGB"
    assert 224 <= min(decoded.image.size) < 448 and decoded.image.size[0] > decoded.image.size[1]


def test_greyscale_becomes_rgb():
    img = decode(encode(Image.new("L", (240, 240), 100), "PNG"), **LIMITS).image
    assert img.mode == "RGB" and img.getpixel((5, 5)) == (100, 100, 100)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    grey = np.zeros((240, 240), np.uint16)
    grey[:, 80:160] = 32896
    grey[:, 160:] = 65535
    img = decode(encode(Image.fromarray(grey), "PNG"), **LIMITS).image
    assert [img.getpixel((x, 10)) for x in (10, 100, 200)] == [(0, 0, 0), (128, 128, 128), (255, 255, 255)]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_composited_on_white(mode):
    img = Image.new(mode, (240, 240), (0, 0, 0, 0) if mode == "RGBA" else (0, 0))
    img.paste((0, 0, 0, 255) if mode == "RGBA" else (0, 255), (0, 0, 120, 240))
    decoded = decode(encode(img, "PNG"), **LIMITS).image
    assert decoded.getpixel((10, 10)) == (0, 0, 0)  # opaque black stays black
    assert decoded.getpixel((200, 10)) == (255, 255, 255)  # fully transparent shows white


def test_palette_with_transparent_index():
    img = Image.new("P", (240, 240), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (120, 0, 240, 240))
    decoded = decode(encode(img, "PNG", transparency=1), **LIMITS).image
    assert decoded.getpixel((10, 10)) == (255, 0, 0)
    assert decoded.getpixel((200, 10)) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb():
    cyan = Image.new("CMYK", (240, 240), (255, 0, 0, 0))
    r, g, b = decode(encode(cyan, quality=95), **LIMITS).image.getpixel((100, 100))
    assert r < 20 and g > 235 and b > 235


def test_bilevel_png_becomes_rgb():
    img = Image.new("1", (240, 240), 1)
    assert decode(encode(img, "PNG"), **LIMITS).image.getpixel((3, 3)) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_corrupted_files_never_escape_as_other_errors(fmt):
    """Flipped bytes anywhere give a decoded image or ImageRejected, never another exception."""
    original = encode(scalp_photo(240), fmt)
    rng = np.random.default_rng(0)
    for _ in range(40):
        data = bytearray(original)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 8))):
            data[position] = int(rng.integers(0, 256))
        try:
            decoded = decode(bytes(data), **LIMITS)
        except ImageRejected as exc:
            assert exc.code in {"unsupported_image", "image_too_large"}
        else:
            assert decoded.image.mode == "RGB"
