"""Is one picture a copy of another? Perceptual hashes propose, an alignment of thumbnails confirms.

A copy may be re-encoded, resized or cropped a little at the edges. Hashes of the whole picture survive
re-encoding and resizing, but a crop of 5 to 8 % per edge shifts a 64-bit pHash by up to 20 bits, as far
as unrelated pictures sit. So each picture is also hashed at centred crops of 92, 86 and 80 %: a cropped
copy's whole-picture hash lies close to one of its original's crop hashes.

Hair over skin is a texture, and unrelated textures can share a hash's coarse layout (the light falls
the same way). So a pair of hashes only proposes a match; it is confirmed by sliding the detail of one
picture's thumbnail over the other's (zoom and offset searched) and asking for a normalised correlation
that unrelated pictures never reach. Copies score 0.65 to 1.0, unrelated hair textures below 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

CROPS = (1.0, 0.92, 0.86, 0.80)  # share of the width and height kept by each hashed centred crop
MAX_PHASH_BITS = 14  # of 64: a proposed match (pHash and dHash of the same crop both this close)
MAX_DHASH_BITS = 16
THUMB_SIDE = 64  # long side of the grey thumbnail the alignment works on
DETAIL_RADIUS = 3  # box blur (thumbnail pixels) removed to leave the detail: light and vignette go
MIN_CORRELATION = 0.4  # of the aligned detail: copies reach it, unrelated pictures do not
ZOOMS = np.linspace(0.76, 1.0, 13)  # how much of the larger picture the smaller one may show


@dataclass(frozen=True)
class Fingerprint:
    phash: np.ndarray  # uint64 [len(CROPS)]: of the whole picture and of each centred crop
    dhash: np.ndarray  # uint64 [len(CROPS)]
    thumb: np.ndarray  # float32 grey 0..255, long side THUMB_SIDE, aspect kept


def _bits(h: imagehash.ImageHash) -> np.uint64:
    return np.packbits(h.hash.ravel()).view(">u8")[0].astype(np.uint64)


def _centre_crop(grey: Image.Image, keep: float) -> Image.Image:
    if keep >= 1:
        return grey
    w, h = grey.size
    mx, my = w * (1 - keep) / 2, h * (1 - keep) / 2
    return grey.crop((round(mx), round(my), round(w - mx), round(h - my)))


def fingerprint_image(img: Image.Image) -> Fingerprint:
    grey = img.convert("L")
    crops = [_centre_crop(grey, keep) for keep in CROPS]
    scale = THUMB_SIDE / max(grey.size)
    thumb_size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return Fingerprint(
        phash=np.array([_bits(imagehash.phash(c)) for c in crops], dtype=np.uint64),
        dhash=np.array([_bits(imagehash.dhash(c)) for c in crops], dtype=np.uint64),
        thumb=np.asarray(grey.resize(thumb_size, Image.Resampling.BOX), dtype=np.float32),
    )


def proposed_pairs(prints: list[Fingerprint], block: int = 256) -> set[tuple[int, int]]:
    """Index pairs (i < j) whose whole-picture hash is close to a crop hash of the other, both hashes.

    Vectorised over blocks of rows with a popcount of XORed hashes: n^2 * len(CROPS) comparisons cost
    about a second for 10 000 pictures, with no Python loop over pairs.
    """
    if len(prints) < 2:
        return set()
    phash = np.stack([p.phash for p in prints])  # [n, crops]
    dhash = np.stack([p.dhash for p in prints])
    pairs = set()
    for start in range(0, len(prints), block):
        rows = slice(start, start + block)
        near_p = np.bitwise_count(phash[rows, None, :1] ^ phash[None, :, :]) <= MAX_PHASH_BITS
        near_d = np.bitwise_count(dhash[rows, None, :1] ^ dhash[None, :, :]) <= MAX_DHASH_BITS
        i, j = np.nonzero((near_p & near_d).any(axis=2))
        i += start
        pairs.update(
            (int(a), int(b)) if a < b else (int(b), int(a)) for a, b in zip(i, j, strict=True) if a != b
        )
    return pairs


def _detail(grey: np.ndarray) -> np.ndarray:
    """The thumbnail minus its local mean: what is left is hair and lesions, not light and vignette."""
    r = DETAIL_RADIUS
    k = 2 * r + 1
    sums = np.pad(np.pad(grey, r, mode="edge").cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    local_mean = (sums[k:, k:] - sums[:-k, k:] - sums[k:, :-k] + sums[:-k, :-k]) / (k * k)
    return grey - local_mean


def _best_correlation(large: np.ndarray, small: np.ndarray) -> float:
    """Highest correlation of `small`'s detail placed anywhere inside `large`, at each zoom in ZOOMS."""
    base = _detail(large)
    best = -1.0
    for zoom in ZOOMS:
        w = zoom * large.shape[1]
        h = w * small.shape[0] / small.shape[1]
        if h > large.shape[0]:
            h = zoom * large.shape[0]
            w = h * small.shape[1] / small.shape[0]
        w, h = min(round(w), large.shape[1]), min(round(h), large.shape[0])
        if min(w, h) < 2 * DETAIL_RADIUS + 2:
            continue
        placed = np.asarray(
            Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32
        )
        part = _detail(placed)
        part -= part.mean()
        windows = sliding_window_view(base, (h, w))  # [dy, dx, h, w]
        windows = windows - windows.mean(axis=(2, 3), keepdims=True)
        numerator = np.einsum("yxhw,hw->yx", windows, part)
        denominator = np.sqrt(np.einsum("yxhw,yxhw->yx", windows, windows) * float((part * part).sum()))
        best = max(best, float((numerator / np.maximum(denominator, 1e-6)).max()))
    return best


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How well one picture's detail lines up with the other's, -1..1; either may be the cropped one."""
    return max(_best_correlation(a.thumb, b.thumb), _best_correlation(b.thumb, a.thumb))


def is_copy(a: Fingerprint, b: Fingerprint) -> bool:
    return similarity(a, b) >= MIN_CORRELATION
