"""The bad uploads: real files of every kind people and attackers send, each with what the app must answer.

`UPLOADS[kind] = (expected, make)`: `make(photo)` builds the file from a phantom scalp photo (PIL, RGB,
256 x 256); `expected` is (HTTP status, error code of docs/errors.md) for a refusal, or ACCEPTED for a file
that must come out as an assessment (the supported formats and modes, and polyglots whose first part is a
photo). The hardening tests put every kind through both doors of the app and through real gunicorn workers.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

from tests.helpers.photos import encode

ACCEPTED = None
UNSUPPORTED = (415, "unsupported_image")
TOO_LARGE = (413, "image_too_large")
TOO_SMALL = (422, "image_too_small")
ORIENTATION_TAG = 0x0112

# What a polyglot hides after (or inside) a valid photo: a ZIP archive, an HTML page and a PDF document.
ZIP_PAYLOAD = (
    b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"hidden.html" + b"\x00" * 16 + b"PK\x05\x06" + b"\x00" * 18
)
HTML_PAYLOAD = b"<html><body><script>alert('polyglot')</script></body></html>"
PDF_PAYLOAD = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_rows(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written chunk by chunk (Pillow cannot write 16-bit RGB, and must not help with a bomb)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def png_bomb() -> bytes:
    """100 000 x 100 000 RGB pixels claimed by a file of a few hundred bytes."""
    return png_from_rows(100_000, 100_000, 8, 2, b"\0" * (1 + 3 * 100_000))


def png_text_bomb(photo: Image.Image) -> bytes:
    """A real PNG whose compressed comment inflates to 200 MB."""
    png = encode(photo, "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 200_000_000, 9))
    return png[:33] + bomb + png[33:]  # right after the 33-byte signature and IHDR


def png_16bit_rgb(photo: Image.Image) -> bytes:
    pixels = np.asarray(photo, dtype=np.uint16) * 257
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    return png_from_rows(photo.width, photo.height, 16, 2, rows)


def png_16bit_grey(photo: Image.Image) -> bytes:
    return encode(Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257), "PNG")


def with_frame_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF) claiming another size: a pixel bomb, or a zero-sized image."""
    pos = 2
    while True:
        marker, length = jpeg[pos + 1], int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data = bytearray(jpeg)
            data[pos + 5 : pos + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
            return bytes(data)
        pos += 2 + length


def corrupt_header(jpeg: bytes) -> bytes:
    """The start-of-image marker followed by a segment whose length points past the end of the file."""
    return jpeg[:2] + b"\xff\xdb\xff\xff" + jpeg[6:]


def palette_with_transparency(photo: Image.Image) -> bytes:
    img = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=255)
    return encode(img, "PNG", transparency=0)


def half_transparent(photo: Image.Image, mode: str, fmt: str) -> bytes:
    img = photo.convert("RGBA")
    img.putalpha(200)
    return encode(img.convert(mode), fmt)


def animation(photo: Image.Image, fmt: str) -> bytes:
    frames = [photo.rotate(angle) for angle in (90, 180, 270)]
    return encode(photo, fmt, save_all=True, append_images=frames, duration=100, loop=0)


def with_orientation(photo: Image.Image, value: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = value
    return encode(photo, quality=92, exif=exif.tobytes())


def jpeg(photo: Image.Image) -> bytes:
    return encode(photo, quality=92)


UPLOADS = {
    # not images at all, whatever their name says
    "zero-bytes": (UNSUPPORTED, lambda photo: b""),
    "text-named-jpg": (UNSUPPORTED, lambda photo: b"holiday notes, not a photo\n" * 40),
    "html-named-jpg": (UNSUPPORTED, lambda photo: b"<!doctype html>" + HTML_PAYLOAD),
    "html-behind-jpeg-magic": (UNSUPPORTED, lambda photo: b"\xff\xd8\xff\xe0" + HTML_PAYLOAD),
    "svg-with-script": (
        UNSUPPORTED,
        lambda photo: (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">'
            b"<script>alert(1)</script></svg>"
        ),
    ),
    # damaged photos
    "truncated-jpeg": (UNSUPPORTED, lambda photo: jpeg(photo)[: len(jpeg(photo)) // 2]),
    "jpeg-corrupt-header": (UNSUPPORTED, lambda photo: corrupt_header(jpeg(photo))),
    "jpeg-zero-size": (UNSUPPORTED, lambda photo: with_frame_size(jpeg(photo), 0, 0)),
    # bombs: far more pixels or bytes than the file's size
    "png-decompression-bomb": (TOO_LARGE, lambda photo: png_bomb()),
    "jpeg-pixel-bomb": (TOO_LARGE, lambda photo: with_frame_size(jpeg(photo), 60_000, 60_000)),
    "png-text-chunk-bomb": (UNSUPPORTED, png_text_bomb),
    # image formats the app does not take
    "gif": (UNSUPPORTED, lambda photo: encode(photo, "GIF")),
    "tiff": (UNSUPPORTED, lambda photo: encode(photo, "TIFF")),
    "bmp": (UNSUPPORTED, lambda photo: encode(photo, "BMP")),
    "pdf": (UNSUPPORTED, lambda photo: encode(photo, "PDF")),
    "pdf-wrapping-a-jpeg": (UNSUPPORTED, lambda photo: PDF_PAYLOAD + jpeg(photo)),
    "animated-webp": (UNSUPPORTED, lambda photo: animation(photo, "WEBP")),
    "animated-png": (UNSUPPORTED, lambda photo: animation(photo, "PNG")),
    # sizes no scalp photo has
    "1x1": (TOO_SMALL, lambda photo: jpeg(photo.resize((1, 1)))),
    "20000x10": (TOO_SMALL, lambda photo: jpeg(photo.resize((20_000, 10)))),
    "10x20000-png": (TOO_SMALL, lambda photo: encode(photo.resize((10, 20_000)), "PNG")),
    # supported formats in every pixel mode: each must be assessed
    # Decoded correctly, then refused: a black-and-white photo cannot show redness or skin tone.
    "png-16bit-grey": ((422, "not_a_scalp_image"), png_16bit_grey),
    "png-16bit-rgb": (ACCEPTED, png_16bit_rgb),
    "jpeg-cmyk": (ACCEPTED, lambda photo: encode(photo.convert("CMYK"), quality=92)),
    "jpeg-greyscale": ((422, "not_a_scalp_image"), lambda photo: encode(photo.convert("L"), quality=92)),
    "png-palette-transparent": (ACCEPTED, palette_with_transparency),
    "png-rgba": (ACCEPTED, lambda photo: half_transparent(photo, "RGBA", "PNG")),
    "png-grey-alpha": ((422, "not_a_scalp_image"), lambda photo: half_transparent(photo, "LA", "PNG")),
    "webp-alpha": (ACCEPTED, lambda photo: half_transparent(photo, "RGBA", "WEBP")),
    "webp-lossless": (ACCEPTED, lambda photo: encode(photo, "WEBP", lossless=True)),
    "jpeg-progressive": (ACCEPTED, lambda photo: encode(photo, quality=92, progressive=True)),
    "jpeg-orientation-invalid": (ACCEPTED, lambda photo: with_orientation(photo, 9)),
    # polyglots: a valid photo that is also another file; kept without the other file
    "polyglot-jpeg-zip": (ACCEPTED, lambda photo: jpeg(photo) + ZIP_PAYLOAD),
    "polyglot-jpeg-pdf": (ACCEPTED, lambda photo: jpeg(photo) + PDF_PAYLOAD),
    "polyglot-jpeg-html-comment": (ACCEPTED, lambda photo: encode(photo, quality=92, comment=HTML_PAYLOAD)),
    "polyglot-png-html-trailer": (ACCEPTED, lambda photo: encode(photo, "PNG") + HTML_PAYLOAD),
}

# What each polyglot must not bring into the image store.
POLYGLOT_PAYLOADS = {
    "polyglot-jpeg-zip": b"hidden.html",
    "polyglot-jpeg-pdf": b"%PDF",
    "polyglot-jpeg-html-comment": b"<script>",
    "polyglot-png-html-trailer": b"<script>",
}
