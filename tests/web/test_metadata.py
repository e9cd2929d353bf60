"""Photos cleaned of identifying metadata: JPEGs losslessly without decoding, PNG and WebP re-encoded."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from scalpcheck.web.metadata import clean_photo, strip_jpeg

GPS_IFD, EXIF_IFD = 0x8825, 0x8769
SERIAL = "SN-4242-UNIQUE"
ARTIST = "Jane Patient"


def identifying_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x013B] = ARTIST  # Artist
    exif.get_ifd(EXIF_IFD)[0xA431] = SERIAL  # BodySerialNumber
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    return exif


def app_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def insert_after_soi(jpeg: bytes, segment: bytes) -> bytes:
    return jpeg[:2] + segment + jpeg[2:]


def photo(size=(120, 80), seed=0, mode="RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


def jpeg_with_everything(img: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img.save(
        buffer,
        "JPEG",
        quality=90,
        exif=identifying_exif(),
        icc_profile=icc,
        comment=f"taken by {ARTIST}".encode(),
        xmp=f"<x:xmpmeta><dc:creator>{ARTIST}</dc:creator></x:xmpmeta>".encode(),
        **params,
    )
    iptc = app_segment(
        0xED,
        b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0b\x1c\x02\x50\x00\x07" + ARTIST[:7].encode(),
    )
    return insert_after_soi(buffer.getvalue(), iptc)


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def assert_nothing_identifying(data: bytes) -> None:
    for secret in (SERIAL.encode(), ARTIST.encode(), ARTIST[:7].encode(), b"PhoneMaker", b"xmpmeta", b"8BIM"):
        assert secret not in data
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        assert set(exif) <= {0x0112}
        assert not exif.get_ifd(GPS_IFD) and not exif.get_ifd(EXIF_IFD)
        assert "comment" not in img.info and "xmp" not in img.info


@pytest.mark.parametrize(
    ("mode", "params"),
    [
        ("RGB", {}),
        ("RGB", {"progressive": True}),
        ("L", {}),
        ("CMYK", {}),
        ("RGB", {"restart_marker_blocks": 4}),
    ],
    ids=["baseline", "progressive", "grey", "cmyk", "restart-markers"],
)
def test_strip_jpeg_is_lossless_and_keeps_only_orientation_and_colour(mode, params):
    original = jpeg_with_everything(photo(mode=mode), **params)
    stripped = strip_jpeg(original, orientation=6)
    assert_nothing_identifying(stripped)
    assert np.array_equal(pixels(stripped), pixels(original))  # no pixel was decoded or changed
    with Image.open(io.BytesIO(stripped)) as img:
        assert img.getexif()[0x0112] == 6
        assert img.info.get("icc_profile")  # colour profile kept
        assert img.mode == mode
    assert len(stripped) < len(original)


def test_strip_jpeg_without_rotation_writes_no_exif():
    stripped = strip_jpeg(jpeg_with_everything(photo()), orientation=1)
    assert b"Exif\x00\x00" not in stripped
    assert_nothing_identifying(stripped)


def test_strip_jpeg_drops_everything_after_the_first_image():
    """Multi-picture files and vendor trailers carry more images, each with its own metadata."""
    first = jpeg_with_everything(photo(seed=1))
    second = jpeg_with_everything(photo(seed=2))
    stripped = strip_jpeg(first + second + b"trailer with " + SERIAL.encode())
    assert stripped.count(b"\xff\xd8") == 1 and stripped.endswith(b"\xff\xd9")
    assert_nothing_identifying(stripped)
    assert np.array_equal(pixels(stripped), pixels(first))


@pytest.mark.parametrize(
    "data",
    [b"", b"not a jpeg", b"\xff\xd8\xff\xe1\x00", b"\xff\xd8\xff\xdb\x00\x43" + b"\x00" * 10],
    ids=["empty", "text", "short-segment", "no-end"],
)
def test_strip_jpeg_refuses_malformed_structure(data):
    with pytest.raises(ValueError):
        strip_jpeg(data)


def test_a_jpeg_whose_segments_do_not_parse_is_reencoded():
    data = jpeg_with_everything(photo())
    no_end_marker = (
        data[:-2] + b"\x00" * 64
    )  # libjpeg decodes it with a warning; the segment parser refuses it
    cleaned, media_type = clean_photo(no_end_marker, "JPEG", 6)
    assert media_type == "image/png"
    assert_nothing_identifying(cleaned)
    with Image.open(io.BytesIO(cleaned)) as img:
        assert img.size == (80, 120)  # orientation 6 applied


def test_a_photo_that_can_be_neither_stripped_nor_decoded_is_refused():
    with pytest.raises(ValueError, match="cannot be cleaned"):
        clean_photo(b"\xff\xd8 not really a jpeg", "JPEG", 1)


def test_png_and_webp_are_reencoded_upright_without_metadata():
    img = photo()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", ARTIST)
    info.add_itxt("Comment", f"serial {SERIAL}")
    buffer = io.BytesIO()
    img.save(buffer, "PNG", pnginfo=info, exif=identifying_exif(orientation=6))
    webp = io.BytesIO()
    img.save(webp, "WEBP", lossless=True, exif=identifying_exif(orientation=6))
    for fmt, data in (("PNG", buffer.getvalue()), ("WEBP", webp.getvalue())):
        cleaned, media_type = clean_photo(data, fmt, 6)
        assert media_type == "image/png"
        assert_nothing_identifying(cleaned)
        with Image.open(io.BytesIO(cleaned)) as out:
            assert out.format == "PNG" and not out.text and 0x0112 not in out.getexif()
            expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
            assert np.array_equal(np.asarray(out.convert("RGB")), expected)
