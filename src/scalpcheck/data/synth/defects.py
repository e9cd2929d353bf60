"""Faults a real photo collection has, planted beside the clean phantoms for the cleaner to find.

The manifest (defects.json) is a contract the cleaner's tests read: kinds, paths relative to the
dataset root with forward slashes, and for copies the original (`of`), which stays in the dataset.
Copies are made of distinct clean phantoms, one original per fault, and each copy is worse than its
original (smaller, more compressed) so a cleaner that keeps the best copy keeps the original. Faults
that are not copies start from fresh phantoms, so they are nobody's duplicate.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from scalpcheck.data.synth.camera import encode_jpeg
from scalpcheck.data.synth.render import photograph
from scalpcheck.data.synth.seeds import defect_rng

PER_KIND = 2
COPY_KINDS = (
    "exact_duplicate",
    "near_duplicate_reencoded",
    "near_duplicate_resized",
    "near_duplicate_cropped",
    "label_conflict",
)
FRESH_KINDS = ("zero_byte", "truncated", "not_an_image", "tiny", "blurry", "too_dark", "too_bright")
KINDS = FRESH_KINDS[:3] + COPY_KINDS[:4] + FRESH_KINDS[3:] + COPY_KINDS[4:]  # the manifest's order
NOT_AN_IMAGE = b"This is a text file with an image extension, planted by scalpcheck synth --defects.\n"
REENCODED_QUALITY = (25, 45)  # below every style's lowest JPEG quality (50)


def originals_needed(n_labels: int) -> int:
    """Clean images per label that the copy faults need (each copies a different original)."""
    return math.ceil(len(COPY_KINDS) * PER_KIND / n_labels)


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _copy(kind: str, data: bytes, rng: np.random.Generator) -> bytes:
    if kind in ("exact_duplicate", "label_conflict"):
        return data
    img = _decode(data)
    w, h = img.size
    if kind == "near_duplicate_reencoded":
        return _jpeg(img, int(rng.integers(*REENCODED_QUALITY)))
    if kind == "near_duplicate_resized":
        f = rng.uniform(0.6, 0.8)
        return _jpeg(img.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS), 90)
    # near_duplicate_cropped: 5 to 8 % of each side's length taken off, split between its two edges
    cut_x, cut_y = (round(s * rng.uniform(0.05, 0.08)) for s in (w, h))
    left, top = int(rng.integers(0, cut_x + 1)), int(rng.integers(0, cut_y + 1))
    return _jpeg(img.crop((left, top, left + w - cut_x, top + h - cut_y)), 90)


def _fresh(kind: str, task: str, label: str, size: int, style: str, rng: np.random.Generator) -> bytes:
    if kind == "zero_byte":
        return b""
    if kind == "not_an_image":
        return NOT_AN_IMAGE
    photo = photograph(task, label, rng, size, style)
    pixels, quality = photo.pixels, photo.camera.jpeg_quality
    if kind == "truncated":
        data = encode_jpeg(pixels, quality)
        return data[: int(len(data) * rng.uniform(0.3, 0.7))]
    if kind == "tiny":
        side = int(rng.integers(24, 49))
        small = Image.fromarray(pixels).resize((side, side), Image.Resampling.LANCZOS)
        return _jpeg(small, quality)
    if kind == "blurry":  # heavy defocus: a blur far beyond the phantoms' slight one
        sigma = rng.uniform(5, 8) * size / 256
        pixels = cv2.GaussianBlur(pixels, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    elif kind == "too_dark":
        pixels = (pixels * rng.uniform(0.02, 0.06)).astype(np.uint8)
    elif kind == "too_bright":
        pixels = (255 - (255 - pixels.astype(np.float32)) * rng.uniform(0.02, 0.06)).astype(np.uint8)
    return encode_jpeg(pixels, quality)


def plant(
    root: Path, task: str, labels: tuple[str, ...], seed: int, size: int, per_class: int, style: str
) -> list[dict]:
    """Write the faults under root (beside the clean images <label>/<label>_<i>.jpg) and list them."""
    faults: list[dict] = []
    slot = 0  # which clean original the next copy takes: labels round-robin, then the next index
    for kind in KINDS:
        for j in range(PER_KIND):
            rng = defect_rng(seed, task, kind, j)
            name = f"defect_{kind}_{j}.jpg"
            if kind in COPY_KINDS:
                label, index = labels[slot % len(labels)], slot // len(labels)
                slot += 1
                if index >= per_class:
                    raise ValueError(f"defects need {originals_needed(len(labels))} clean images per label")
                of = f"{label}/{label}_{index:04d}.jpg"
                target = (
                    labels[(labels.index(label) + 1) % len(labels)] if kind == "label_conflict" else label
                )
                data = _copy(kind, (root / of).read_bytes(), rng)
                fault = {"kind": kind, "path": f"{target}/{name}", "of": of}
            else:
                label = labels[(KINDS.index(kind) + j) % len(labels)]
                data = _fresh(kind, task, label, size, style, rng)
                fault = {"kind": kind, "path": f"{label}/{name}"}
            (root / fault["path"]).write_bytes(data)
            faults.append(fault)
    return faults
