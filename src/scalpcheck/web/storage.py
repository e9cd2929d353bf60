"""The image store: each assessment's photo, Grad-CAM overlay and thumbnail, in step with the database.

Layout: `uploads/<k[:2]>/<k>/{photo.jpg|photo.png, overlay.jpg, thumbnail.jpg}`, where k is a random
192-bit key held only in the assessment's row, so a path can neither be guessed nor derived from an id.

Files and rows change together without a shared transaction, so every change goes through a pending
folder, `uploads/.pending/`, and the database decides what happens to it:

- adding: the images are written and fsynced into `.pending/add-<k>`, then the caller commits the row,
  then the folder moves into place;
- removing: the folders move into `.pending/del-<id>/`, then the caller commits the deletion, then the
  pending folder is deleted.

If the caller's commit fails, the pending folder is undone at once. If the process dies in between (a
worker killed mid-upload, a power cut), `recover` settles it later by the one rule that is right for both:
a key whose row exists goes into place, any other is deleted. So no row ever points to missing images and
no image outlives its row. Each pending folder is locked (flock) while its operation runs; the lock dies
with the process, which is how recovery tells a dead operation from one still running in another worker.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from PIL import Image

from scalpcheck.preprocess import as_rgb

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 192  # history shows 96 px thumbnails; twice that stays sharp on high-density screens
PHOTO_FILES = {"image/jpeg": "photo.jpg", "image/png": "photo.png"}
OVERLAY_FILE = "overlay.jpg"
THUMBNAIL_FILE = "thumbnail.jpg"
PENDING = ".pending"
ADD, DELETE = "add-", "del-"
# A pending folder is created under a hidden name and locked before it gets its real name; one left hidden
# (its process died in that instant) is empty and removed once this old.
ABANDONED_AFTER_S = 60

_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


class ImageStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.pending = self.root / PENDING

    def photo_path(self, key: str, media_type: str) -> Path:
        return self._folder(key) / PHOTO_FILES[media_type]

    def overlay_path(self, key: str) -> Path:
        return self._folder(key) / OVERLAY_FILE

    def thumbnail_path(self, key: str) -> Path:
        return self._folder(key) / THUMBNAIL_FILE

    @contextmanager
    def adding(
        self, photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image
    ) -> Iterator[str]:
        """Write a new assessment's images and yield their key; commit its row inside the `with` block.

        When the block ends normally the images go into place; when it raises they are deleted. `photo` is
        already clean (scalpcheck.web.metadata), `preview` the upright, downscaled photo the thumbnail is
        made from, `overlay` the Grad-CAM overlay.
        """
        key = secrets.token_urlsafe(24)
        contents = {  # encoded before the operation starts: a failure here leaves nothing to undo
            PHOTO_FILES[media_type]: photo,
            OVERLAY_FILE: _jpeg(overlay, quality=85),
            THUMBNAIL_FILE: _jpeg(_thumbnail(preview), quality=80),
        }
        with self._operation(ADD + key) as staged:
            try:
                _write_synced(staged, contents)
                _fsync_dirs(staged)
                yield key
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            self._place(staged, key)  # should this fail, the row exists: recovery places the images

    @contextmanager
    def removing(self, keys: Iterable[str]) -> Iterator[None]:
        """Take these assessments' images out of place; commit the rows' deletion inside the `with` block.

        When the block ends normally the images are deleted; when it raises they go back into place.
        """
        with self._operation(DELETE + secrets.token_hex(8)) as removed:
            moved, parents = [], set()
            try:
                for key in keys:
                    folder = self._folder(key)
                    if folder.is_dir():
                        os.rename(folder, removed / key)
                        moved.append(key)
                        parents.add(folder.parent)
                _fsync_dirs(removed, *parents)  # the moves are on disk before the rows go
                yield
            except BaseException:
                for key in moved:
                    self._place(removed / key, key)
                removed.rmdir()
                raise
            shutil.rmtree(removed)

    def recover(self, existing_keys: Callable[[list[str]], set[str]]) -> int:
        """Settle the pending operations of processes that died; returns how many were settled.

        `existing_keys(keys)` returns those of `keys` that have an assessment row. Operations still
        running (their lock is held) are left alone, so this is safe to call from any worker at any time.
        """
        if not self.pending.is_dir():
            return 0
        settled = 0
        for folder in sorted(self.pending.iterdir()):
            if not folder.is_dir():
                continue
            if folder.name.startswith("."):
                if time.time() - _mtime(folder) > ABANDONED_AFTER_S and _try_lock(folder, _remove_if_empty):
                    settled += 1
            elif _try_lock(folder, lambda path: self._settle(path, existing_keys)):
                settled += 1
        if settled:
            log.warning("settled %d image store operation(s) left by a process that died", settled)
        return settled

    @contextmanager
    def _operation(self, name: str) -> Iterator[Path]:
        """A pending folder named `name`, locked while the block runs; the block settles its contents."""
        self.pending.mkdir(parents=True, exist_ok=True)
        hidden = Path(tempfile.mkdtemp(prefix=".", dir=self.pending))
        fd = os.open(hidden, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            folder = self.pending / name
            os.rename(hidden, folder)  # visible only once locked: recovery never takes a live operation
            # Durable before anything goes in: after a crash, a hidden folder is always empty.
            _fsync_dirs(self.pending)
            yield folder
        finally:
            os.close(fd)

    def _settle(self, folder: Path, existing_keys: Callable[[list[str]], set[str]]) -> None:
        if folder.name.startswith(ADD):
            staged = {folder.name.removeprefix(ADD): folder}
        else:
            staged = {path.name: path for path in folder.iterdir() if _KEY.fullmatch(path.name)}
        keep = existing_keys(list(staged)) if staged else set()
        for key, path in staged.items():
            if key in keep:
                self._place(path, key)
        shutil.rmtree(folder, ignore_errors=True)

    def _place(self, folder: Path, key: str) -> None:
        target = self._folder(key)
        target.parent.mkdir(exist_ok=True)
        os.rename(folder, target)

    def _folder(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # keys come from our own rows; refuse anything that could leave the root
            raise ValueError(f"not an image store key: {key!r}")
        return self.root / key[:2] / key


def _try_lock(folder: Path, action: Callable[[Path], None]) -> bool:
    """Run `action(folder)` if no live process holds the folder's lock; True when it ran."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:  # finished meanwhile
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        if not os.path.exists(folder):  # finished between open and lock
            return False
        action(folder)
        return True
    finally:
        os.close(fd)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        log.error("image store: %s is not empty; left for a person to look at", folder)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    as_rgb(img).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _thumbnail(preview: Image.Image) -> Image.Image:
    thumbnail = preview.convert("RGB")
    # Bilinear, which Pillow widens to the scale when shrinking (no aliasing): at 96 px on a page it looks
    # as Lanczos does, for less work.
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR)
    return thumbnail


def _write_synced(folder: Path, contents: dict[str, bytes]) -> None:
    """Create each file in `folder` with its bytes, then fsync them all.

    No temporary names: the folder is pending, and a pending add only goes into place once its row is
    committed, which is after this returns. All writes come before the first fsync, so that one journal
    commit can carry every file's creation.
    """
    with ExitStack() as open_files:
        files = []
        for name, data in contents.items():
            f = open_files.enter_context(open(folder / name, "xb"))
            f.write(data)
            files.append(f)
        for f in files:
            f.flush()
            os.fsync(f.fileno())


def _fsync_dirs(*paths: Path) -> None:
    """Make the entries of each folder durable: a new name is only on disk once its directory is."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
