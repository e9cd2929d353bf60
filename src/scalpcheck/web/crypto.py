"""Stored images encrypted at rest: AES-256-GCM under a ring of keys, each file naming the key that sealed it.

A sealed file is `MAGIC, VERSION, key id (4 bytes), nonce (12 bytes), ciphertext and its 16-byte tag`. The
associated data is the header and the file's place (`<assessment key>/<file name>`): a file copied to
another assessment, or a thumbnail passed off as a photo, fails to open instead of being shown.

A key's id is derived from the key, so an id names one key and a wrong key shows as an unknown id. The
ring's first key is current and seals every new file; the others only open files not yet moved off them by
`scalpcheck keys rotate` (scalpcheck.web.rotation). The keys come from Settings.image_keys: IMAGE_KEY, else
the home folder's image_keys file, which the ring rereads when it changes, so a rotation reaches running
workers without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scalpcheck.settings import Settings, encode_image_key

log = logging.getLogger(__name__)

MAGIC = b"\x89SCI"  # no JPEG or PNG starts so: files written before encryption are told apart
VERSION = 1
ID_BYTES = 4
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + 1 + ID_BYTES + NONCE_BYTES


class SealError(ValueError):
    """A stored file that cannot be trusted: tampered with, truncated, moved, or under no known key."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"scalpcheck image key\0" + key).digest()[:ID_BYTES].hex()


def new_key() -> str:
    """A fresh key as IMAGE_KEY and the image_keys file write it."""
    return encode_image_key(secrets.token_bytes(32))


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def sealed_key_id(head: bytes) -> str | None:
    """The id of the key that sealed a file, from its first HEADER_BYTES; None: not sealed."""
    if not is_sealed(head) or len(head) < HEADER_BYTES:
        return None
    return head[len(MAGIC) + 1 : len(MAGIC) + 1 + ID_BYTES].hex()


class KeyRing:
    """The image keys: the current one seals, any of them opens."""

    def __init__(
        self, load: Callable[[], list[bytes]], watch: Path | None = None, source: str = "the key ring"
    ):
        self.source = source  # where the keys come from, for messages
        self._load = load
        self._watch = watch  # the key file to reread when it changes; None: the keys never change
        self._stamp = self._file_stamp()
        self._set(load())

    @classmethod
    def from_settings(cls, settings: Settings, create: bool = True) -> KeyRing:
        watch = None if settings.image_keys_env else settings.image_keys_file
        source = "IMAGE_KEY" if watch is None else f"the key file {watch}"
        return cls(lambda: settings.image_keys(create=create), watch, source)

    @property
    def current(self) -> str:
        return self._state[0]

    @property
    def ids(self) -> list[str]:
        return list(self._state[1])

    def refresh(self) -> bool:
        """Reread the key file if it changed (a rotation); True when it did. One stat when it did not."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        try:
            keys = self._load()
        except (OSError, ValueError) as exc:  # keep serving with the keys we have
            log.error("image keys: cannot reread %s: %s", self._watch, exc)
            return False
        self._stamp = stamp
        self._set(keys)
        return True

    def seal(self, data: bytes, place: str, kid: str | None = None) -> bytes:
        current, ciphers = self._state
        kid = kid or current
        header = MAGIC + bytes([VERSION]) + bytes.fromhex(kid) + secrets.token_bytes(NONCE_BYTES)
        return header + ciphers[kid].encrypt(header[-NONCE_BYTES:], data, _context(header, place))

    def open(self, blob: bytes, place: str) -> bytes:
        kid = sealed_key_id(blob)
        if kid is None or blob[len(MAGIC)] != VERSION:
            raise SealError(f"{place}: not a sealed image of this version")
        if kid not in self._state[1]:
            self.refresh()  # a rotation may have made a key this worker has not read yet
        cipher = self._state[1].get(kid)
        if cipher is None:
            raise SealError(f"{place}: sealed under key {kid}, which is not among the image keys")
        header = blob[:HEADER_BYTES]
        try:
            return cipher.decrypt(header[-NONCE_BYTES:], blob[HEADER_BYTES:], _context(header, place))
        except InvalidTag:
            raise SealError(f"{place}: fails its authentication under key {kid} (altered or moved)") from None

    def _set(self, keys: list[bytes]) -> None:
        if not keys:
            raise SealError("no image key")
        # One assignment: a thread sees the old ring or the new one, never a current key without its cipher.
        self._state = (key_id(keys[0]), {key_id(key): AESGCM(key) for key in keys})

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self._watch is None:
            return None
        try:
            st = os.stat(self._watch)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size


def _context(header: bytes, place: str) -> bytes:
    return header + b"\0" + place.encode()
