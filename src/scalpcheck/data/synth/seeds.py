"""Each image's own random streams, from (seed, task, label, index) alone.

An image therefore never depends on the order images are made in, on --per-class, or on which other
labels are made: phantom 7 of `psoriasis` with seed 1 is the same picture in every dataset.

One image's generator is split into independent streams: one picks the style (for `mix`), one draws
the scene (skin, hair, lesions, the label's look) and one draws each photograph of it (camera, framing,
light, focus, noise, compression). Keeping the scene stream and drawing another shot stream gives a
re-shoot: the same scalp, photographed again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np


def word(text: str) -> int:
    """A stable 32-bit number for a name (Python's hash() changes between runs)."""
    return zlib.crc32(text.encode("utf-8"))


def image_rng(seed: int, task: str, label: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, word(task), word(label), index]))


def defect_rng(seed: int, task: str, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, word(task), word("defect:" + kind), index]))


@dataclass(frozen=True)
class Streams:
    key: tuple[int, ...]

    def style(self) -> np.random.Generator:
        return np.random.default_rng([*self.key, 0])

    def scene(self) -> np.random.Generator:
        return np.random.default_rng([*self.key, 1])

    def shot(self, k: int = 0) -> np.random.Generator:
        return np.random.default_rng([*self.key, 2, k])

    @property
    def scalp_id(self) -> str:
        """A name for the scalp: the same for every shot of it."""
        return "".join(f"{w:08x}" for w in self.key[:2])


def split(rng: np.random.Generator) -> Streams:
    """Independent streams from one generator (which advances by one draw)."""
    return Streams(tuple(int(w) for w in rng.integers(0, 2**32, 4, dtype=np.uint64)))
