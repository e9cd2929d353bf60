"""The image store: each assessment's photo, Grad-CAM overlay and thumbnail, without identifying metadata.

Layout: `uploads/<k[:2]>/<k>/{photo.jpg|photo.png, overlay.jpg, thumbnail.jpg}`, where k is a random
192-bit key held only in the assessment's row, so a path can neither be guessed nor derived from an id.
Every file is written to a temporary name in its final folder, fsynced and renamed, so a reader (or a
crash) never sees half a file.

Photos keep no metadata that could identify a person or a place. A JPEG is cleaned without decoding it:
re-encoding a 12 MP photo costs more than the whole latency budget of an assessment (issue 5), while
dropping its metadata segments is a byte copy. Only the EXIF orientation survives, in a minimal EXIF
segment of its own, so every viewer shows the photo upright. PNG and WebP photos are re-encoded as PNG,
which keeps the pixels and nothing else.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
from pathlib import Path

from PIL import Image, ImageOps

ORIENTATION_TAG = 0x0112
THUMBNAIL_SIDE = 192  # history shows 96 px thumbnails; twice that stays sharp on high-density screens
PHOTO_FILES = {"image/jpeg": "photo.jpg", "image/png": "photo.png"}
OVERLAY_FILE = "overlay.jpg"
THUMBNAIL_FILE = "thumbnail.jpg"

_KEY = re.compile(r"[A-Za-z0-9_-]{32}")
# A JPEG marker: 0xFF followed by a code that is not a stuffed zero, a fill byte or a restart marker, so
# the search skips over entropy-coded scan data and finds the next segment or the end of the image.
_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_SOI, _EOI, _SOS, _APP0, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE2, 0xEE, 0xFE


class ImageStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def save(self, photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image) -> str:
        """Store one assessment's images; returns their key. On any failure nothing is left behind.

        `photo` is already clean (see clean_photo); `preview` is the upright, downscaled photo the
        thumbnail is made from, `overlay` the Grad-CAM overlay.
        """
        key = secrets.token_urlsafe(24)
        folder = self._folder(key)
        folder.mkdir(parents=True)  # a fresh random key: an existing folder would be a collision, so fail
        try:
            _write_atomic(folder / PHOTO_FILES[media_type], photo)
            _write_atomic(folder / OVERLAY_FILE, _jpeg(overlay, quality=85))
            thumbnail = preview.convert("RGB")
            thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            _write_atomic(folder / THUMBNAIL_FILE, _jpeg(thumbnail, quality=80))
            _fsync_dir(folder)
            _fsync_dir(folder.parent)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return key

    def photo_path(self, key: str, media_type: str) -> Path:
        return self._folder(key) / PHOTO_FILES[media_type]

    def overlay_path(self, key: str) -> Path:
        return self._folder(key) / OVERLAY_FILE

    def thumbnail_path(self, key: str) -> Path:
        return self._folder(key) / THUMBNAIL_FILE

    def delete(self, key: str) -> None:
        shutil.rmtree(self._folder(key), ignore_errors=True)

    def _folder(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # keys come from our own rows; refuse anything that could leave the root
            raise ValueError(f"not an image store key: {key!r}")
        return self.root / key[:2] / key


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
    body: list[bytes] = []
    in_scan = False
    pos = 2
    while True:
        match = _MARKER.search(data, pos)
        if match is None:
            raise ValueError("JPEG without an end-of-image marker")
        start = match.start()
        if in_scan:
            body.append(data[pos:start])  # entropy-coded data, restart markers included
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


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    """Make the renames in `path` durable: a rename is only on disk once its directory is."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
