"""Is one picture a copy of another? Perceptual hashes propose, an alignment of thumbnails confirms.

A copy may be re-encoded, resized, or cropped by 5 to 8 % at the edges (not necessarily evenly). Hashes
of the whole picture survive re-encoding and resizing, but such a crop moves a 64-bit pHash by up to
20 bits, as far as unrelated pictures sit. So each picture is also hashed at 18 crops (92 % and 86 % of
its width and height, each at the 9 positions of a 3 x 3 grid): a cropped copy's whole-picture hash lies
within a few bits of the original's best-placed crop.

Hair over skin is a texture, and unrelated textures can share a hash's coarse layout (the light falls
the same way, the hair is combed the same way). So close hashes only propose a match; it is confirmed by
sliding the detail of one picture's thumbnail over the other's (zoom and offset searched) and asking for
a normalised correlation (MIN_CORRELATION) that copies reach and unrelated pictures do not.

The hashes are ImageHash's pHash and dHash (tests check they are bit for bit the same), computed for
the 19 crops at once: one batched DCT instead of 19 calls, which would cost more than the rest of what
`clean` does with a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from PIL import Image

KEEPS = (0.92, 0.86)  # share of the width and height kept by the hashed crops
GRID = (0.0, 0.5, 1.0)  # where a crop sits in the room left to it: one edge, centred, the other edge
BOXES = ((0.0, 0.0, 1.0, 1.0),) + tuple(
    (x * (1 - keep), y * (1 - keep), x * (1 - keep) + keep, y * (1 - keep) + keep)
    for keep in KEEPS
    for x in GRID
    for y in GRID
)  # as fractions of the picture; the whole picture first
HASH_SOURCE = 128  # px: the grey picture is reduced to this square once, then each crop to 32 px
MAX_PHASH_BITS = 12  # of 64: a proposed match has pHash and dHash of the same crop both this close
MAX_DHASH_BITS = 14
THUMB_SIDE = 64  # long side of the grey thumbnail the alignment works on
DETAIL_RADIUS = 3  # box blur (thumbnail pixels) removed to leave the detail: light and vignette go
MIN_CORRELATION = 0.4  # of the aligned detail: copies reach it, unrelated pictures do not
ZOOMS = np.linspace(0.76, 1.0, 13)  # how much of the larger picture the smaller one may show


@dataclass(frozen=True)
class Fingerprint:
    phash: np.ndarray  # uint64 [len(BOXES)]: of the whole picture, then of each crop
    dhash: np.ndarray  # uint64 [len(BOXES)]
    thumb: np.ndarray  # uint8 grey, long side THUMB_SIDE, aspect kept (4 kB: 10 000 pictures fit in 40 MB)


def _to_uint64(bits: np.ndarray) -> np.ndarray:
    """[n, 64] booleans -> [n] uint64, first bit most significant (as ImageHash prints them)."""
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def hash_crops(grey: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash (ImageHash's definitions, 8 x 8) of every box in BOXES."""
    square = grey.resize((HASH_SOURCE, HASH_SOURCE), Image.Resampling.BOX)
    side = HASH_SOURCE
    crops = [
        square.resize((32, 32), Image.Resampling.BOX, box=(x0 * side, y0 * side, x1 * side, y1 * side))
        for x0, y0, x1, y1 in BOXES
    ]
    pixels = np.stack([np.asarray(c, dtype=np.float64) for c in crops])
    low = scipy.fft.dct(scipy.fft.dct(pixels, axis=1), axis=2)[:, :8, :8].reshape(len(crops), 64)
    phash = low > np.median(low, axis=1, keepdims=True)
    small = np.stack([np.asarray(c.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16) for c in crops])
    dhash = (small[:, :, 1:] > small[:, :, :-1]).reshape(len(crops), 64)
    return _to_uint64(phash), _to_uint64(dhash)


def fingerprint_image(img: Image.Image) -> Fingerprint:
    grey = img.convert("L")
    phash, dhash = hash_crops(grey)
    scale = THUMB_SIDE / max(grey.size)
    thumb_size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    thumb = np.asarray(grey.resize(thumb_size, Image.Resampling.BOX))
    return Fingerprint(phash=phash, dhash=dhash, thumb=thumb)


def proposed_pairs(prints: list[Fingerprint], block: int = 256) -> set[tuple[int, int]]:
    """Index pairs (i < j) whose whole-picture hashes are close to a crop's hashes of the other.

    Vectorised over blocks of rows with a popcount of XORed hashes, no Python loop over pairs: about
    n^2 * 19 comparisons, a second or two for 10 000 pictures.
    """
    if len(prints) < 2:
        return set()
    phash = np.stack([p.phash for p in prints])  # [n, boxes]
    dhash = np.stack([p.dhash for p in prints])
    pairs: set[tuple[int, int]] = set()
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


def _summed_area(values: np.ndarray) -> np.ndarray:
    return np.pad(values.cumsum(0).cumsum(1), ((1, 0), (1, 0)))


def _window_sums(table: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums over every h x w window of the array whose summed-area table is `table`."""
    return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]


def _detail(grey: np.ndarray) -> np.ndarray:
    """The thumbnail minus its local mean: what is left is hair and lesions, not light and vignette."""
    k = 2 * DETAIL_RADIUS + 1
    local = _window_sums(_summed_area(np.pad(grey, DETAIL_RADIUS, mode="edge")), k, k)
    return grey - local / (k * k)


def _best_correlation(large: np.ndarray, small: np.ndarray) -> float:
    """Highest normalised correlation of `small`'s detail placed anywhere inside `large`, at any zoom.

    The usual fast normalised cross-correlation: the products at every offset from one FFT (the base's
    transform is shared by all zooms; offsets that fit inside never wrap around), the windows' variances
    from summed-area tables.
    """
    base = _detail(large.astype(np.float64))
    shape = base.shape
    base_spectrum = scipy.fft.rfft2(base)
    sums, squares = _summed_area(base), _summed_area(base * base)
    best = -1.0
    for zoom in ZOOMS:
        w = zoom * shape[1]
        h = w * small.shape[0] / small.shape[1]
        if h > shape[0]:
            h = zoom * shape[0]
            w = h * small.shape[1] / small.shape[0]
        w, h = min(round(w), shape[1]), min(round(h), shape[0])
        if min(w, h) < 2 * DETAIL_RADIUS + 2:
            continue
        placed = np.asarray(
            Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64
        )
        part = _detail(placed)
        part -= part.mean()
        products = scipy.fft.irfft2(base_spectrum * np.conj(scipy.fft.rfft2(part, s=shape)), s=shape)
        products = products[: shape[0] - h + 1, : shape[1] - w + 1]
        window = _window_sums(sums, h, w)
        spread = np.maximum(_window_sums(squares, h, w) - window * window / (h * w), 1e-9)
        best = max(best, float((products / np.sqrt(spread * float((part * part).sum()) + 1e-9)).max()))
    return best


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How well one picture's detail lines up with the other's, -1..1; either may be the cropped one."""
    return max(_best_correlation(a.thumb, b.thumb), _best_correlation(b.thumb, a.thumb))


def is_copy(a: Fingerprint, b: Fingerprint) -> bool:
    return similarity(a, b) >= MIN_CORRELATION
