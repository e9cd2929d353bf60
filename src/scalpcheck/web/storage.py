"""The image store: each assessment's photo, Grad-CAM overlay and thumbnail, in step with the database.

Two backends behind one interface (`ImageStore`): a folder on this host (`FolderStore`, here, the default)
and an S3-compatible bucket that several web hosts share (`S3Store`, scalpcheck.web.s3_store), chosen by
IMAGE_STORE_URL. Both seal every image (scalpcheck.web.crypto) and keep the same promise: no row without
its images, no image outliving its row, whatever is killed when.

The folder's layout: `uploads/<k[:2]>/<k>/{photo.jpg|photo.png, overlay.jpg, thumbnail.jpg}`, where k is a
random 192-bit key held only in the assessment's row, so a path can neither be guessed nor derived from an id.

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

Every image is sealed (scalpcheck.web.crypto) when it is written and opened when it is read (`read`).
`uploads/.keys/` holds one check file per key that has sealed images, sealed under that key, so a start
with a missing or wrong key fails at once (`open_store`) rather than when a photo is shown; a `plain` file
there says images written before encryption may remain, which are read as they are until `scalpcheck keys
rotate` (scalpcheck.web.rotation) seals them. An assessment's folder is locked while a rotation rewrites
it, and `removing` takes that lock before moving it.
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
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image

from scalpcheck.errors import UsageError
from scalpcheck.preprocess import as_rgb
from scalpcheck.settings import Settings
from scalpcheck.web.crypto import HEADER_BYTES, KeyRing, SealError, is_sealed, sealed_key_id

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
FOLDER_TRIES = 5  # looks for a folder that pending operations move meanwhile
KEYS = ".keys"
PLAIN = "plain"
CHECK_TEXT = b"scalpcheck image key check"

_KEY = re.compile(r"[A-Za-z0-9_-]{32}")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


class StoreUnavailable(Exception):
    """The image store cannot be reached now (a bucket's endpoint down): answered 503, nothing stored."""


@dataclass(frozen=True)
class StoredImage:
    """An image as read from the store: its opened bytes, and what names this version of the file."""

    data: bytes
    version: str  # changes whenever the file is rewritten (a rotation), for ETags
    modified: float  # seconds since the epoch


ExistingKeys = Callable[[list[str]], set[str]]  # those of the keys that have an assessment row


class ImageStore(Protocol):
    """What the app asks of an image store, whichever the backend."""

    @property
    def where(self) -> str:
        """The folder or the bucket, for messages."""
        ...

    def check_keys(self) -> None: ...

    def adding(
        self, photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image
    ) -> AbstractContextManager[str]: ...

    def removing(self, keys: Iterable[str]) -> AbstractContextManager[None]: ...

    def recover(self, existing_keys: ExistingKeys) -> int: ...

    def fetch(self, key: str, name: str) -> StoredImage:
        """The image `name` of assessment `key`, opened; FileNotFoundError or SealError."""
        ...

    def stored_files(self, key: str, names: list[str]) -> dict[str, bytes] | None:
        """Those of the files `names` of assessment `key` that are there, sealed as stored; None: none."""
        ...

    def opened(self, data: bytes, place: str) -> bytes:
        """What the stored file `data` at `place` (`<key>/<file name>`) holds; SealError if untrustworthy."""
        ...


def image_contents(
    photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image
) -> dict[str, bytes]:
    """The files of a new assessment, by name: the clean photo, the overlay, the thumbnail of `preview`."""
    return {
        PHOTO_FILES[media_type]: photo,
        OVERLAY_FILE: _jpeg(overlay, quality=85),
        THUMBNAIL_FILE: _jpeg(_thumbnail(preview), quality=80),
    }


class FolderStore:
    """The image store in a folder of this host."""

    def __init__(self, root: str | Path, keys: KeyRing):
        self.root = Path(root)
        self.pending = self.root / PENDING
        self.keys_dir = self.root / KEYS
        self.keys = keys
        self._checked: set[str] = set()  # key ids whose check file is known to exist

    @property
    def where(self) -> str:
        return str(self.root)

    def fetch(self, key: str, name: str) -> StoredImage:
        path = self._folder(key) / name
        stat = path.stat()
        return StoredImage(self.read(path), f"{stat.st_mtime_ns:x}-{stat.st_size:x}", stat.st_mtime)

    def photo_path(self, key: str, media_type: str) -> Path:
        return self._folder(key) / PHOTO_FILES[media_type]

    def overlay_path(self, key: str) -> Path:
        return self._folder(key) / OVERLAY_FILE

    def thumbnail_path(self, key: str) -> Path:
        return self._folder(key) / THUMBNAIL_FILE

    def read(self, path: Path) -> bytes:
        """The image at `path` (from photo_path and the like), opened.

        FileNotFoundError when it is not there; SealError when it cannot be trusted, never its bytes.
        """
        return self.opened(path.read_bytes(), f"{path.parent.name}/{path.name}")

    def opened(self, data: bytes, place: str) -> bytes:
        """What the stored file `data` at `place` (`<key>/<file name>`) holds; SealError if untrustworthy."""
        if is_sealed(data):
            return self.keys.open(data, place)
        if (self.keys_dir / PLAIN).exists():  # written before encryption, not yet sealed by a rotation
            return data
        raise SealError(f"{place}: not sealed, and this store has no images from before encryption")

    def stored_files(self, key: str, names: list[str]) -> dict[str, bytes] | None:
        """The files `names` of one assessment as stored (sealed), in place or pending; None when it is
        nowhere. Read under the folder's lock, which a deletion takes before it moves the folder."""
        folder = self._folder(key)
        for _ in range(FOLDER_TRIES):
            found = _read_locked(folder, folder, names)
            if found is not None:
                return found
            pending = self._pending_folder(key)
            if pending is None:
                return _read_locked(folder, folder, names)  # it went into place between the two looks
            operation, staged = pending
            # A live operation holds this lock: waiting for it settles where the folder is. A dead one's
            # folder is read where it lies (its row exists, so recovery will put it in place).
            found = _read_locked(operation, staged, names)
            if found is not None:
                return found
        return None

    def _pending_folder(self, key: str) -> tuple[Path, Path] | None:
        """(operation folder, the key's folder in it) of a pending add or deletion holding `key`."""
        add = self.pending / (ADD + key)
        if add.is_dir():
            return add, add
        if self.pending.is_dir():
            for operation in self.pending.glob(DELETE + "*"):
                if (operation / key).is_dir():
                    return operation, operation / key
        return None

    def check_keys(self) -> None:
        """Refuse keys that do not open what is stored (UsageError); then record the current key."""
        if not self.keys_dir.is_dir():
            self._start_keys()
        used = used_key_ids(self.root)
        check_key_files(self.keys, self.where, used, lambda kid: (self.keys_dir / kid).read_bytes())
        self._check_sample()
        self.ensure_check(self.keys.current)

    def ensure_check(self, kid: str) -> None:
        """Make sure key `kid` has its check file before anything is sealed under it."""
        if kid in self._checked:
            return
        path = self.keys_dir / kid
        for _ in range(2):  # a rotation starting may remove the temporary file: once more then
            if path.exists():
                break
            with open_dir(self.keys_dir) as fd, suppress(FileNotFoundError):
                replace_in(fd, kid, self.keys.seal(CHECK_TEXT, f"{KEYS}/{kid}", kid))
                os.fsync(fd)
        self._checked.add(kid)

    @contextmanager
    def adding(
        self, photo: bytes, media_type: str, preview: Image.Image, overlay: Image.Image
    ) -> Iterator[str]:
        """Write a new assessment's images and yield their key; commit its row inside the `with` block.

        When the block ends normally the images go into place; when it raises they are deleted. `photo` is
        already clean (scalpcheck.web.metadata), `preview` the upright, downscaled photo the thumbnail is
        made from, `overlay` the Grad-CAM overlay.
        """
        key = new_key()
        # encoded before the operation starts: a failure here leaves nothing to undo
        contents = image_contents(photo, media_type, preview, overlay)
        with self._operation(ADD + key) as staged:
            try:
                _write_synced(staged, self._sealed(key, contents))
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
                        with locked(folder):  # a rotation rewriting this folder finishes first
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

    def recover(self, existing_keys: ExistingKeys) -> int:
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

    def _sealed(self, key: str, contents: dict[str, bytes]) -> dict[str, bytes]:
        # Read the keys inside the operation: a rotation waits for operations that started before it.
        self.keys.refresh()
        self.ensure_check(self.keys.current)
        return {name: self.keys.seal(data, f"{key}/{name}") for name, data in contents.items()}

    def _start_keys(self) -> None:
        """Make `.keys/` with the current key's check file, and `plain` if images from before are there."""
        self.root.mkdir(parents=True, exist_ok=True)
        legacy = any(not entry.name.startswith(".") for entry in self.root.iterdir())
        tmp = Path(tempfile.mkdtemp(prefix=KEYS + "-", dir=self.root))
        with open_dir(tmp) as fd:
            if legacy:
                replace_in(fd, PLAIN, b"")
            kid = self.keys.current
            replace_in(fd, kid, self.keys.seal(CHECK_TEXT, f"{KEYS}/{kid}", kid))
            os.fsync(fd)
        try:
            os.rename(tmp, self.keys_dir)  # whole or not at all; fails when another worker made it first
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
        _fsync_dirs(self.root)
        if legacy:
            log.warning(
                "image store: images from before encryption are read as they are until "
                "`scalpcheck keys rotate` seals them"
            )

    def _check_sample(self) -> None:
        """One stored image's key must be known too, should the check files have been lost."""
        for path in image_files(self.root):
            with open(path, "rb") as f:
                head = f.read(HEADER_BYTES)
            kid = sealed_key_id(head)
            if kid is None and not is_sealed(head) and not (self.keys_dir / PLAIN).exists():
                raise UsageError(f"the image store {self.root} has unsealed images but no record of them")
            if kid is not None and kid not in self.keys.ids:
                raise unknown_keys(self.where, [kid], self.keys)
            return

    def _settle(self, folder: Path, existing_keys: ExistingKeys) -> None:
        if folder.name.startswith(ADD):
            staged = {folder.name.removeprefix(ADD): folder}
        else:
            staged = {path.name: path for path in folder.iterdir() if is_key(path.name)}
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
        return self.root / key_prefix(key) / key


def check_key_files(keys: KeyRing, where: str, used: list[str], read_check: Callable[[str], bytes]) -> None:
    """Refuse keys that lack one of the `used` key ids or fail to open its check file (UsageError);
    `read_check(kid)` reads one, FileNotFoundError when a rotation retired it meanwhile."""
    unknown = sorted(set(used) - set(keys.ids))
    if unknown:
        raise unknown_keys(where, unknown, keys)
    for kid in used:
        try:
            keys.open(read_check(kid), f"{KEYS}/{kid}")
        except FileNotFoundError:  # retired by a rotation meanwhile
            continue
        except SealError as exc:
            raise UsageError(f"the image key check failed: {exc}") from None


def unknown_keys(where: str, kids: list[str], keys: KeyRing) -> UsageError:
    return UsageError(
        f"the image store {where} holds images sealed under key(s) {', '.join(kids)}, which "
        f"{keys.source} does not have: set it to the keys the images were written with"
    )


def new_key() -> str:
    return secrets.token_urlsafe(24)


def key_prefix(key: str) -> str:
    """The first two letters of an assessment's key, its folder's parent; refuses anything not a key."""
    if not _KEY.fullmatch(key):  # keys come from our own rows; refuse anything that could leave the root
        raise ValueError(f"not an image store key: {key!r}")
    return key[:2]


def is_key(name: str) -> bool:
    return _KEY.fullmatch(name) is not None


def open_store(settings: Settings) -> ImageStore:
    """The image store under its keys, checked: a missing or wrong key stops the start here (UsageError)."""
    if settings.image_store.bucket:
        # boto3 is imported only by the hosts that use it
        from scalpcheck.web.s3_store import Bucket, S3Store, used_key_ids

        bucket = Bucket.from_settings(settings)
        try:
            _require_keys(settings, used_key_ids(bucket), bucket.where)
            s3 = S3Store(bucket, KeyRing.from_settings(settings), settings.image_store_settle_after_s)
            s3.check_keys()
        except StoreUnavailable as exc:
            raise UsageError(
                f"the image store {bucket.where} cannot be reached ({exc}); check IMAGE_STORE_URL, "
                "AWS_ENDPOINT_URL and the credentials, and that the bucket exists"
            ) from None
        return s3
    return open_folder_store(settings, "the app")


def open_folder_store(settings: Settings, purpose: str) -> FolderStore:
    """The folder store, checked as open_store does; UsageError naming `purpose` when the store is S3."""
    require_folder_store(settings, purpose)
    root = settings.uploads_dir
    _require_keys(settings, used_key_ids(root), str(root))
    store = FolderStore(root, KeyRing.from_settings(settings))
    store.check_keys()
    return store


def require_folder_store(settings: Settings, purpose: str) -> None:
    if settings.image_store.bucket:
        raise UsageError(
            f"{purpose} works on an image store in a folder, and IMAGE_STORE_URL names the bucket "
            f"{settings.image_store.url}: back it up with the object store's own versioning or replication"
        )


def _require_keys(settings: Settings, sealed: list[str], where: str) -> None:
    if not settings.image_keys(create=not sealed):  # a new key would only hide that the old one is lost
        raise UsageError(
            f"no image key: IMAGE_KEY is unset and {settings.image_keys_file} is missing, but the image "
            f"store {where} holds images sealed under key(s) {', '.join(sealed)}; restore the file or set "
            "IMAGE_KEY"
        )


def used_key_ids(root: Path) -> list[str]:
    """The ids of the keys that have sealed images in the store at `root`, from their check files."""
    folder = root / KEYS
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if _KEY_ID.fullmatch(path.name))


def image_files(root: Path) -> Iterator[Path]:
    """Every image in place (not pending), folder by folder."""
    for folder in image_folders(root):
        for path in sorted(folder.iterdir()):
            if not path.name.startswith("."):
                yield path


def image_folders(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for prefix in sorted(root.iterdir()):
        if prefix.name.startswith(".") or not prefix.is_dir():
            continue
        for folder in sorted(prefix.iterdir()):
            if is_key(folder.name):
                yield folder


@contextmanager
def locked(folder: Path) -> Iterator[int]:
    """Hold `folder`'s flock for the block; yields the folder's descriptor."""
    with open_dir(folder) as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd


def replace_in(dir_fd: int, name: str, data: bytes) -> None:
    """Write `name` in an open folder atomically: a temporary file, fsynced, renamed over it.

    Relative to the folder's descriptor, so it lands in the folder even if the folder has moved meanwhile.
    The caller fsyncs the folder.
    """
    tmp = f".{name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


@contextmanager
def open_dir(folder: Path) -> Iterator[int]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


def _read_locked(lock: Path, folder: Path, names: list[str]) -> dict[str, bytes] | None:
    try:
        with locked(lock) as fd:
            if os.stat(lock).st_ino != os.fstat(fd).st_ino or not folder.is_dir():
                return None  # moved between opening and locking
            with open_dir(folder) as folder_fd:
                present = set(os.listdir(folder_fd))
                return {name: read_at(folder_fd, name) for name in names if name in present}
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_at(dir_fd: int, name: str) -> bytes:
    with os.fdopen(os.open(name, os.O_RDONLY, dir_fd=dir_fd), "rb") as f:
        return f.read()


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
