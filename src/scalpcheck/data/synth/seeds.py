"""Each image's own random generator, from (seed, task, label, index) alone.

An image therefore never depends on the order images are made in, on --per-class, or on which other
labels are made: phantom 7 of `psoriasis` with seed 1 is the same picture in every dataset.
"""

from __future__ import annotations

import zlib

import numpy as np


def word(text: str) -> int:
    """A stable 32-bit number for a name (Python's hash() changes between runs)."""
    return zlib.crc32(text.encode("utf-8"))


def image_rng(seed: int, task: str, label: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, word(task), word(label), index]))


def defect_rng(seed: int, task: str, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, word(task), word("defect:" + kind), index]))
