"""Photos without metadata that could identify a person or a place (GPS, camera serial, names).

A JPEG is cleaned without decoding it: re-encoding a 12 MP photo would cost more than the rest of the
assessment, while dropping its metadata segments is a byte copy that leaves every pixel as it was. Only the
EXIF orientation survives, in a minimal EXIF segment of its own, so every viewer shows the photo upright. PNG
and WebP photos are re-encoded as PNG, which keeps the pixels and nothing else.
"""

from __future__ import annotations

import io
import re

from PIL import Image, ImageOps

ORIENTATION_TAG = 0x0112
# A JPEG marker: 0xFF followed by a code that is not a stuffed zero, a fill byte or a restart marker, so
# the search skips over entropy-coded scan data and finds the next segment or the end of the image.
_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_SOI, _EOI, _SOS, _APP0, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE2, 0xEE, 0xFE


def clean_photo(data: bytes, image_format: str, orientation: int) -> tuple[bytes, str]:
    """The photo to keep, without identifying metadata, and its media type.

    `image_format` and `orientation` are what the decoder found (Assessment.source). Raises ValueError
    for a photo that can be neither stripped nor decoded in full: better refused than kept uncleaned.
    """
    if image_format == "JPEG":
        try:
            return strip_jpeg(data, orientation), "image/jpeg"
        except ValueError:
            pass  # a damaged JPEG that libjpeg still decodes (no end marker, say): re-encode it instead
    try:
        return _reencode_png(data), "image/png"
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the photo cannot be cleaned of metadata: {exc}") from exc


def strip_jpeg(data: bytes, orientation: int = 1) -> bytes:
    """The JPEG without metadata, decoding nothing; raises ValueError for a malformed segment structure.

    Kept: quantisation and Huffman tables, frame and scan headers, the scan data, and the segments that
    change how pixels decode: a JFIF header without its thumbnail, the ICC colour profile and the Adobe
    segment (its colour transform flag is needed for CMYK photos). Dropped: EXIF (GPS, camera serial,
    owner name, the embedded thumbnail), XMP, IPTC/Photoshop, comments, every other application segment,
    and anything after the end of the first image (the extra pictures of a multi-picture file, vendor
    trailers). An orientation other than 1 is written back as a minimal EXIF segment.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG: no start-of-image marker")
    jfif: list[bytes] = []
    header: list[bytes] = []
    body: list[bytes | memoryview] = []
    in_scan = False
    pos = 2
    view = memoryview(data)  # scan data is sliced without a copy; the final join copies it once
    while True:
        match = _MARKER.search(data, pos)
        if match is None:
            raise ValueError("JPEG without an end-of-image marker")
        start = match.start()
        if in_scan:
            body.append(view[pos:start])  # entropy-coded data, restart markers included
        marker = data[start + 1]
        if marker == _EOI:
            body.append(b"\xff\xd9")
            break
        if marker == _SOI or marker == 0x01:
            raise ValueError(f"unexpected JPEG marker 0x{marker:02x}")
        end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
        if end > len(data) or end < start + 4:
            raise ValueError(f"JPEG segment 0x{marker:02x} has a bad length")
        segment = data[start:end]
        if _APP0 <= marker <= 0xEF or marker == _COM:
            if not in_scan and _keep_app_segment(marker, segment[4:]):
                (jfif if marker == _APP0 else header).append(segment)
        else:
            (body if in_scan else header).append(segment)
            in_scan = in_scan or marker == _SOS
        pos = end
    if not in_scan:
        raise ValueError("JPEG without image data")
    exif = [_orientation_segment(orientation)] if orientation != 1 else []
    return b"".join([b"\xff\xd8", *jfif, *exif, *header, *body])


def _keep_app_segment(marker: int, payload: bytes) -> bool:
    if marker == _APP0:
        # JFIF version, density and thumbnail size; only a JFIF header with no thumbnail is kept.
        return payload.startswith(b"JFIF\x00") and len(payload) >= 14 and payload[12] == payload[13] == 0
    if marker == _APP2:
        return payload.startswith(b"ICC_PROFILE\x00")
    return marker == _APP14 and payload.startswith(b"Adobe")


def _orientation_segment(orientation: int) -> bytes:
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation must be 1 to 8, got {orientation}")
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    payload = exif.tobytes()  # b"Exif\0\0" + a TIFF header + one IFD entry
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _reencode_png(data: bytes) -> bytes:
    """A full decode and a lossless PNG: the orientation applied, only the colour profile kept."""
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img)
        buffer = io.BytesIO()
        upright.save(buffer, "PNG", icc_profile=img.info.get("icc_profile"))
    return buffer.getvalue()
