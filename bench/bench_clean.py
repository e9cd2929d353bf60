"""`scalpcheck clean` throughput, and what its two main speed choices buy.

- end to end: find_problems on a phantom dataset with planted faults (256 px JPEGs): read, content hash,
  decode, quality measures, fingerprints, duplicate search; files per second, single process.
- 12 MP photos: check_file (JPEG draft decode, libjpeg scales the DCT to about 256 px) against the same
  code with draft mode switched off (every pixel decoded, then reduced).
- duplicate search: proposed_pairs over N pictures (numpy popcount of XORed 64-bit hashes, in blocks)
  against the plain way, a Python loop over every pair comparing the same hashes.
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from bench import Row, row

PHONE_SIZE = (4032, 3024)


def _seconds(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _end_to_end(ctx) -> Row:
    from scalpcheck.data.clean import find_problems
    from scalpcheck.data.synth import write_dataset

    per_class = 10 if ctx.quick else 50
    root = ctx.workdir / "phantoms"
    write_dataset("scalp", per_class=per_class, seed=0, out=root, defects=True, progress=False)
    find_problems(root, progress=False)  # warm-up: imports, first allocations
    start = time.perf_counter()
    report = find_problems(root, progress=False)
    seconds = time.perf_counter() - start
    return row(
        "clean",
        f"find_problems, {report.n_files} phantoms of 256 px with planted faults",
        report.n_files / seconds,
        "files/s",
    )


def _phone_photos(ctx, count: int) -> list:
    from scalpcheck.data.synth import render_phantom

    rng = np.random.default_rng(0)
    paths = []
    for k in range(count):
        phantom = render_phantom("hairloss", f"stage_{k % 5}", rng, size=512)
        pixels = np.asarray(phantom.resize(PHONE_SIZE, Image.Resampling.BICUBIC), np.int16)
        pixels += rng.integers(
            -6, 7, size=pixels.shape, dtype=np.int16
        )  # sensor noise: a realistic JPEG cost
        path = ctx.workdir / f"phone_{k}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def _phone(ctx) -> Row:
    from scalpcheck.data.clean.checks import check_file

    paths = _phone_photos(ctx, 2 if ctx.quick else 5)
    repeats = 1 if ctx.quick else 3

    def check_all():
        for path in paths:
            check_file(path)

    draft = _seconds(check_all, repeats) / len(paths)
    with mock.patch.object(JpegImageFile, "draft", lambda self, mode, size: None):
        full = _seconds(check_all, repeats) / len(paths)
    return row(
        "clean",
        f"check_file on a {PHONE_SIZE[0]} x {PHONE_SIZE[1]} JPEG",
        draft * 1000,
        "ms/file",
        baseline=full * 1000,
        baseline_name="full decode",
        higher_is_better=False,
    )


def _pairs_in_python(prints, max_p: int, max_d: int) -> set:
    phash = [[int(h) for h in p.phash] for p in prints]
    dhash = [[int(h) for h in p.dhash] for p in prints]
    pairs = set()
    for i in range(len(prints)):
        for j in range(len(prints)):
            if i != j and any(
                (phash[i][0] ^ phash[j][c]).bit_count() <= max_p
                and (dhash[i][0] ^ dhash[j][c]).bit_count() <= max_d
                for c in range(len(phash[j]))
            ):
                pairs.add((min(i, j), max(i, j)))
    return pairs


def _search(ctx) -> Row:
    from scalpcheck.data.clean import fingerprints as fp

    n = 300 if ctx.quick else 800
    rng = np.random.default_rng(0)
    thumb = np.zeros((1, 1), np.float32)
    shape = (n, len(fp.BOXES))
    phash = rng.integers(0, 2**63, size=shape, dtype=np.uint64)
    dhash = rng.integers(0, 2**63, size=shape, dtype=np.uint64)
    prints = [fp.Fingerprint(phash[k], dhash[k], thumb) for k in range(n)]
    fast = _seconds(lambda: fp.proposed_pairs(prints), 3)
    start = time.perf_counter()
    expected = _pairs_in_python(prints, fp.MAX_PHASH_BITS, fp.MAX_DHASH_BITS)
    slow = time.perf_counter() - start
    assert fp.proposed_pairs(prints) == expected, "the baseline must find the same pairs"
    return row(
        "clean",
        f"duplicate candidates among {n} pictures ({len(fp.BOXES)} hashes each)",
        fast * 1000,
        "ms",
        baseline=slow * 1000,
        baseline_name="Python loop over pairs",
        higher_is_better=False,
    )


def run(ctx) -> list[Row]:
    return [_end_to_end(ctx), _phone(ctx), _search(ctx)]
