"""The image store in an S3-compatible bucket (IMAGE_STORE_URL=s3://bucket/prefix), shared by several hosts.

Layout under the prefix: `<k[:2]>/<k>/{photo.jpg|photo.png, overlay.jpg, thumbnail.jpg}` as in the folder
store (scalpcheck.web.storage), `.keys/<key id>` (one check file per key, sealed under it), and
`.pending/{add-<k>|del-<id>}`, one marker per change in flight.

An object appears whole or not at all (a PUT is atomic), but a bucket has no rename, so the images go
straight to their place and a marker says which change they belong to:

- adding: the marker `add-<k>` is written first, then the images; the caller commits the row; then the
  marker goes. Until the row is committed nothing points at the images, so nobody sees them.
- removing: the marker `del-<id>` (listing the keys) is written, the caller commits the deletion, then the
  images and the marker go.

If the caller's commit fails, the change is undone at once. If the process dies in between, any host's
`recover` settles the marker by the folder store's rule (a key whose row exists keeps its images, any other
loses them) once the marker is older than IMAGE_STORE_SETTLE_AFTER_S: with no lock shared across hosts, age
is what tells a dead change from a live one, and no request lives longer than the worker timeout.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from scalpcheck.web.crypto import HEADER_BYTES, KeyRing, SealError, is_sealed, sealed_key_id
from scalpcheck.web.storage import (
    ADD,
    CHECK_TEXT,
    DELETE,
    KEYS,
    OVERLAY_FILE,
    PENDING,
    PHOTO_FILES,
    THUMBNAIL_FILE,
    ExistingKeys,
    StoredImage,
    StoreUnavailable,
    check_key_files,
    image_contents,
    is_key,
    key_prefix,
    new_key,
    unknown_keys,
)

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

    from scalpcheck.settings import Settings

log = logging.getLogger(__name__)

MISSING = {"NoSuchKey", "404", "NotFound"}
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
FILE_NAMES = (*PHOTO_FILES.values(), OVERLAY_FILE, THUMBNAIL_FILE)


class S3Store:
    """The image store in a bucket, under its keys (IMAGE_KEY's or the key file's)."""

    def __init__(self, bucket: Bucket, keys: KeyRing, settle_after_s: float = 600):
        self.bucket, self.keys = bucket, keys
        self.settle_after_s = settle_after_s
        self._checked: set[str] = set()  # key ids whose check file is known to exist
        self._listed = -math.inf  # time.monotonic() when recover last listed the markers

    @property
    def where(self) -> str:
        return self.bucket.where

    # ------------------------------------------------------------------------------------------ reading
    def fetch(self, key: str, name: str) -> StoredImage:
        place = f"{key}/{name}"
        stored = self.bucket.get(self._image(key, name))
        return StoredImage(self.opened(stored.data, place), stored.etag, stored.modified)

    def opened(self, data: bytes, place: str) -> bytes:
        if not is_sealed(data):  # a bucket store never held images from before encryption
            raise SealError(f"{place}: not sealed")
        return self.keys.open(data, place)

    def stored_files(self, key: str, names: list[str]) -> dict[str, bytes] | None:
        found = {}
        for name in names:
            try:
                found[name] = self.bucket.get(self._image(key, name)).data
            except FileNotFoundError:
                continue
        return found or None

    def check_keys(self) -> None:
        """Refuse keys that do not open what is stored (UsageError); then record the current key."""
        used = used_key_ids(self.bucket)
        check_key_files(self.keys, self.where, used, lambda kid: self.bucket.get(f"{KEYS}/{kid}").data)
        self._check_sample()
        self.ensure_check(self.keys.current)

    def ensure_check(self, kid: str) -> None:
        """Make sure key `kid` has its check file before anything is sealed under it."""
        if kid not in self._checked:
            self.bucket.put(f"{KEYS}/{kid}", self.keys.seal(CHECK_TEXT, f"{KEYS}/{kid}", kid))
            self._checked.add(kid)

    # ----------------------------------------------------------------------------------------- changing
    @contextmanager
    def adding(
        self, photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image
    ) -> Iterator[str]:
        """Store a new assessment's images and yield their key; commit its row inside the `with` block."""
        key = new_key()
        contents = image_contents(photo, media_type, preview, overlay)
        self.keys.refresh()
        self.ensure_check(self.keys.current)
        sealed = {name: self.keys.seal(data, f"{key}/{name}") for name, data in contents.items()}
        marker = f"{PENDING}/{ADD}{key}"
        self.bucket.put(marker, b"")  # first: an image without its marker could be orphaned by a kill
        try:
            for name, data in sealed.items():
                self.bucket.put(self._image(key, name), data)
            yield key
        except BaseException:
            self._undo([*(self._image(key, name) for name in sealed), marker])
            raise
        self.bucket.delete([marker])  # should this fail, the row exists: recovery keeps the images

    @contextmanager
    def removing(self, keys: Iterable[str]) -> Iterator[None]:
        """Mark these assessments' images for removal; commit the rows' deletion inside the `with` block."""
        keys = list(keys)
        marker = f"{PENDING}/{DELETE}{new_key()[:16]}"
        self.bucket.put(marker, json.dumps(keys).encode())
        try:
            yield
        except BaseException:
            self._undo([marker])
            raise
        self.bucket.delete([*self._objects_of(keys), marker])

    @contextmanager
    def restoring(self, files: list[tuple[str, str, Path]]) -> Iterator[None]:
        """Put a backup's files, (key, name, the file of its sealed bytes), in place one at a time; load
        the rows inside the `with` block. A marker like a deletion's names their keys first, so what a
        restore killed midway put in the bucket goes to recovery's rule: kept if the rows came, else not."""
        keys = json.dumps(sorted({key for key, _, _ in files})).encode()
        marker = f"{PENDING}/{DELETE}{new_key()[:16]}"
        self.bucket.put(marker, keys)
        renewed = time.monotonic()
        try:
            for key, name, path in files:
                self.bucket.put(self._image(key, name), path.read_bytes())
                if time.monotonic() - renewed > self.settle_after_s / 4:  # a long restore is not a dead one
                    self.bucket.put(marker, keys)
                    renewed = time.monotonic()
            yield
        except BaseException:
            self._undo([*(self._image(key, name) for key, name, _ in files), marker])
            raise
        self.bucket.delete([marker])

    def has_images(self) -> bool:
        """Whether anything but key check files and settled markers is in the bucket."""
        return any(not name.startswith((KEYS + "/", PENDING + "/")) for name in self.bucket.names(limit=1))

    def recover(self, existing_keys: ExistingKeys) -> int:
        """Settle the markers older than `settle_after_s`, left by processes that died; how many.

        Called after every upload, as the folder store is; but a marker waits `settle_after_s` to be
        settled anyway, so the bucket is listed at most ten times in that span (a request saved an upload).
        """
        now = time.monotonic()
        if now < self._listed + self.settle_after_s / 10:
            return 0
        self._listed = now
        settled = 0
        cutoff = time.time() - self.settle_after_s
        for name, modified in self.bucket.dated(PENDING + "/"):
            marker = name.removeprefix(PENDING + "/")
            if modified > cutoff:
                continue
            if marker.startswith(ADD) and is_key(marker.removeprefix(ADD)):
                staged = [marker.removeprefix(ADD)]
            elif marker.startswith(DELETE):
                try:
                    staged = [k for k in json.loads(self.bucket.get(name).data) if is_key(k)]
                except FileNotFoundError:  # settled by another host meanwhile
                    continue
            else:
                log.error(
                    "image store: %s%s is not a marker of ours; left for a person", self.bucket.prefix, name
                )
                continue
            keep = existing_keys(staged) if staged else set()
            self.bucket.delete([*self._objects_of([k for k in staged if k not in keep]), name])
            settled += 1
        if settled:
            log.warning("settled %d image store operation(s) left by a process that died", settled)
        return settled

    def pending_markers(self) -> list[str]:
        return [name.removeprefix(PENDING + "/") for name in self.bucket.names(PENDING + "/")]

    def image_keys(self) -> set[str]:
        """Every assessment key with at least one image in the bucket."""
        found = set()
        for name in self.bucket.names(""):
            parts = name.split("/")
            if len(parts) == 3 and is_key(parts[1]) and parts[0] == parts[1][:2]:
                found.add(parts[1])
        return found

    # ---------------------------------------------------------------------------------------- rotation
    def reseal_pass(self, resealed: Callable[[str], None], refused: set[str], existing: ExistingKeys) -> bool:
        """Reseal every image not under the current key (calling `resealed(place)` for each); True when
        anything changed. An image no key opens is added to `refused` and left as it is."""
        changed, rewritten = False, set()
        for name in self.bucket.names():
            parts = name.split("/")
            if len(parts) != 3 or not is_key(parts[1]) or f"{parts[1]}/{parts[2]}" in refused:
                continue
            place = f"{parts[1]}/{parts[2]}"
            try:
                data = self.bucket.get(name).data
            except FileNotFoundError:  # deleted meanwhile
                continue
            if sealed_key_id(data) == self.keys.current:
                continue
            try:
                image = self.keys.open(data, place)
            except SealError:
                refused.add(place)
                continue
            self.bucket.put(name, self.keys.seal(image, place))
            rewritten.add(parts[1])
            resealed(place)
            changed = True
        self._drop_rewritten_orphans(rewritten, existing)
        return changed

    def retire(self) -> None:
        """Delete the check files of every key but the current one."""
        self.bucket.delete([f"{KEYS}/{kid}" for kid in used_key_ids(self.bucket) if kid != self.keys.current])

    def _drop_rewritten_orphans(self, keys: set[str], existing: ExistingKeys) -> None:
        """A deletion that ran while an image was resealed may have deleted it before the reseal wrote it
        back: delete the images of rewritten keys with no row and no upload under way. The row is asked
        again after the markers are read, since an upload commits its row before it drops its marker."""
        if not keys:
            return
        no_row = keys - existing(sorted(keys))
        adding = {m.removeprefix(ADD) for m in self.pending_markers() if m.startswith(ADD)}
        candidates = no_row - adding
        orphans = candidates - existing(sorted(candidates)) if candidates else set()
        if orphans:
            self.bucket.delete(self._objects_of(orphans))

    # ------------------------------------------------------------------------------------------- helpers
    def _image(self, key: str, name: str) -> str:
        return f"{key_prefix(key)}/{key}/{name}"

    def _objects_of(self, keys: Iterable[str]) -> list[str]:
        """Every name an assessment's file can have: deleting one that is not there costs nothing, listing
        each assessment's files would cost a request each."""
        return [self._image(key, name) for key in keys for name in FILE_NAMES]

    def _check_sample(self) -> None:
        """One stored image's key must be known too, should the check files have been lost."""
        for name in self.bucket.names("", limit=50):
            parts = name.split("/")
            if len(parts) != 3 or not is_key(parts[1]) or parts[2] != THUMBNAIL_FILE:  # the smallest
                continue
            kid = sealed_key_id(self.bucket.get(name).data[:HEADER_BYTES])
            if kid is None or kid not in self.keys.ids:
                raise unknown_keys(self.where, [kid or "(none)"], self.keys)
            return

    def _undo(self, names: list[str]) -> None:
        """Delete what a failed change left; should the bucket fail too, the marker stays for `recover`."""
        try:
            self.bucket.delete(names)
        except StoreUnavailable as exc:
            log.warning("image store: undo postponed to recovery: %s", exc)


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str
    modified: float  # seconds since the epoch


class Bucket:
    """A bucket and key prefix ("" or ending in "/"), through boto3; its failures are StoreUnavailable."""

    def __init__(self, name: str, prefix: str):
        self.name, self.prefix = name, prefix
        self._client = None
        self._client_pid = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Bucket:
        return cls(settings.image_store.bucket, settings.image_store.prefix)

    @property
    def where(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def client(self):
        """boto3's client, made anew in each process: a forked worker must not share its sockets."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                config = Config(
                    retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=16,
                    # AES-GCM's tag already proves every image whole; a CRC32 of each body on top buys nothing
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                self._client = boto3.session.Session().client("s3", config=config)
                self._client_pid = os.getpid()
            return self._client

    def get(self, name: str) -> StoredObject:
        """The object `name`, read whole; FileNotFoundError when there is none."""
        try:
            reply = self.client().get_object(Bucket=self.name, Key=self.prefix + name)
            data = reply["Body"].read()  # inside: a connection lost mid-body is the bucket's failure too
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(name) from None
            raise StoreUnavailable(f"{self.where}{name}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"{self.where}{name}: {exc}") from exc
        return StoredObject(data, reply["ETag"].strip('"'), reply["LastModified"].timestamp())

    def put(self, name: str, data: bytes) -> None:
        with self._errors(name):
            self.client().put_object(Bucket=self.name, Key=self.prefix + name, Body=data)

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            with self._errors(batch[0]):
                reply = self.client().delete_objects(
                    Bucket=self.name,
                    Delete={"Objects": [{"Key": self.prefix + n} for n in batch], "Quiet": True},
                )
            failed = [e for e in reply.get("Errors", []) if e.get("Code") not in MISSING]
            if failed:
                raise StoreUnavailable(f"{self.where}: could not delete {failed[0].get('Key')}: {failed[0]}")

    def names(self, under: str = "", limit: int = 0) -> list[str]:
        """The objects' names under the prefix + `under`, relative to the prefix (at least `limit`)."""
        return [name for name, _ in self.dated(under, limit)]

    def dated(self, under: str, limit: int = 0) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []
        with self._errors(under):
            pages = (
                self.client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.name, Prefix=self.prefix + under)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].removeprefix(self.prefix)
                    found.append((name, item["LastModified"].timestamp()))
                if limit and len(found) >= limit:
                    break
        return found

    @contextmanager
    def _errors(self, name: str) -> Iterator[None]:
        """The bucket's failures as StoreUnavailable: a passing state to answer 503, not a bug."""
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"{self.where}{name}: {exc}") from exc


def used_key_ids(bucket: Bucket) -> list[str]:
    """The ids of the keys with a check file in the bucket."""
    names = (name.removeprefix(KEYS + "/") for name in bucket.names(KEYS + "/"))
    return sorted(name for name in names if len(name) == 8)
