"""Per-file checks: can the file be decoded completely, and is the picture usable (scalpcheck.quality)?

Each file is read once: its bytes give the content hash and are then decoded. A JPEG is decoded in
draft mode (libjpeg scales the DCT down to about the analysis size), which still reads every byte of
the entropy-coded data, so a cut-short file is noticed, while a 12 MP photo costs a fraction of a full
decode.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from scalpcheck import quality
from scalpcheck.data.clean.fingerprints import Fingerprint, fingerprint_image

LIMITS = quality.QualityLimits()  # the web app's quality gate uses the same limits
# scalpcheck.quality's codes -> finding kinds
_QUALITY_KINDS = {
    "image_too_small": "too_small",
    "image_too_dark": "too_dark",
    "image_too_bright": "too_bright",
    "image_too_blurry": "too_blurry",
}


@dataclass(frozen=True)
class FileCheck:
    size: int  # bytes
    sha256: str  # "" when the file could not be read at all
    pixels: int  # width x height as stored; 0 when not even the header could be read
    problem: tuple[str, str] | None  # (kind, reason) when the file must go on its own account
    fingerprint: Fingerprint | None  # for usable pictures only: they alone take part in duplicate search


class _Rejected(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _cut_short(data: bytes, fmt: str) -> bool:
    """Formats whose decoder may not notice a missing tail, but whose container says where it ends."""
    if fmt == "PNG":
        return b"IEND" not in data[-32:]
    if fmt == "WEBP":
        return data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] + 8 > len(data)
    return False


def _decode(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded image (a JPEG reduced to about the analysis size) and its size as stored, or _Rejected."""
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _Rejected("unreadable", f"too many pixels to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise _Rejected("unreadable", "not an image: no image format recognised in its bytes") from exc
    except Exception as exc:  # a damaged header raises whatever its format's parser raises
        raise _Rejected("unreadable", f"damaged image header ({exc})") from exc
    fmt, size = img.format or "unknown", img.size
    if _cut_short(data, fmt):
        raise _Rejected("truncated", f"the {fmt} file is cut short ({len(data)} bytes)")
    try:
        if fmt in ("JPEG", "MPO"):  # MPO: a JPEG with extra pictures, as many phones write them
            img.draft("RGB", (quality.ANALYSIS_SIDE, quality.ANALYSIS_SIDE))
        img.load()
    except Image.DecompressionBombError as exc:
        raise _Rejected(
            "unreadable", f"{img.width} x {img.height} px: too many pixels to decode safely"
        ) from exc
    except OSError as exc:
        if "truncated" in str(exc):
            raise _Rejected("truncated", f"the {fmt} data end early ({len(data)} bytes)") from exc
        raise _Rejected("unreadable", f"corrupt {fmt} data ({exc})") from exc
    except Exception as exc:  # decoders raise a zoo of exception types for corrupt data
        raise _Rejected("unreadable", f"corrupt {fmt} data ({exc})") from exc
    return img, size


def _describe(kind: str, stats: quality.QualityStats, limits: quality.QualityLimits) -> str:
    if kind == "too_small":
        return f"{stats.width} x {stats.height} px; the short side must be at least {limits.min_side} px"
    if kind == "too_dark":
        return f"nearly black: mean brightness {stats.brightness:.1%} (at least {limits.min_brightness:.0%})"
    if kind == "too_bright":
        return f"nearly white: mean brightness {stats.brightness:.1%} (at most {limits.max_brightness:.0%})"
    if stats.sharpness < limits.min_sharpness:
        return (
            f"blurred: sharpness {stats.sharpness:.2f} (sharp photos: {limits.min_sharpness} or more) "
            f"and almost no fine detail ({stats.fine_detail:.3f})"
        )
    return (
        "blurred: almost no detail at any scale "
        f"(fine {stats.fine_detail:.3f}, coarse {stats.coarse_detail:.3f})"
    )


def check_file(path: Path) -> FileCheck:
    try:
        data = path.read_bytes()
    except OSError as exc:  # no permission, a dangling link: the file is there but gives nothing
        return FileCheck(0, "", 0, ("unreadable", f"cannot be read ({exc.strerror or exc})"), None)
    sha = hashlib.sha256(data).hexdigest()
    if not data:
        return FileCheck(0, sha, 0, ("unreadable", "empty file (0 bytes)"), None)
    try:
        img, (width, height) = _decode(data)
    except _Rejected as rejected:
        return FileCheck(len(data), sha, 0, (rejected.kind, rejected.reason), None)
    with img:
        grey = quality.grey_image(img)
    # Draft mode shrank a JPEG: its size as stored is what "too small" is about.
    stats = replace(quality.measure(grey), width=width, height=height)
    codes = quality.problems(stats, LIMITS)
    if codes:
        kind = _QUALITY_KINDS[codes[0]]
        return FileCheck(len(data), sha, width * height, (kind, _describe(kind, stats, LIMITS)), None)
    return FileCheck(len(data), sha, width * height, None, fingerprint_image(grey))
