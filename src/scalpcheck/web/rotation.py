"""`scalpcheck keys rotate`: every stored image resealed under a new key while the app serves.

Each step is safe to interrupt at any instant, and a rerun finishes the rotation begun, under its key:

1. a new key goes first into the image_keys file (replaced atomically), its check file into the store;
   workers reread the file before they seal (KeyRing.refresh) and still open old files with the old keys;
2. the store's pending operations are waited for: any that read the keys before step 1 finish;
3. every image, in place or pending, that is not sealed under the new key is resealed (a temporary file,
   fsynced, renamed over it) with its folder locked; passes repeat until one finds nothing left;
4. the old keys' check files go (and `plain`, the mark of images from before encryption), then the old
   keys leave the file.

With IMAGE_KEY the keys cannot be written here: its first key is the new one, put there beforehand on
every host, and step 4 says which keys IMAGE_KEY may then drop.

An S3 store is shared by hosts whose key files this command cannot reach, so it rotates with IMAGE_KEY only:
every object not under the current key is rewritten (a PUT replaces it whole), pass after pass, and what a
deletion removed while it was being rewritten is deleted again (S3Store.reseal_pass).
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scalpcheck.errors import UsageError
from scalpcheck.settings import IMAGE_KEY_BYTES, Settings, encode_image_key
from scalpcheck.web.crypto import HEADER_BYTES, SealError, is_sealed, key_id, sealed_key_id
from scalpcheck.web.dumps import connect
from scalpcheck.web.storage import (
    ADD,
    DELETE,
    PLAIN,
    FolderStore,
    image_folders,
    locked,
    open_dir,
    open_folder_store,
    open_store,
    replace_in,
    used_key_ids,
)

MAX_PASSES = 10  # each pass after the first only meets what deletions put back meanwhile


@dataclass
class Rotation:
    key: str  # the id of the key everything is sealed under now
    resealed: int = 0
    unsealed: int = 0  # of those, images from before encryption
    refused: set[str] = field(default_factory=set)  # images no key opens: left as they were
    retired: list[str] = field(default_factory=list)


def rotate(settings: Settings, say: Callable[[str], None] = print) -> Rotation:
    if settings.image_store.bucket:
        return _rotate_bucket(settings, say)
    # refuses a missing or wrong key before anything changes
    store = open_folder_store(settings, "scalpcheck keys rotate")
    with _only_rotation(store):
        _remove_leftovers(store, settings)
        if not settings.image_keys_env:
            keys = settings.image_keys()
            if len(keys) == 1:
                _save_keys(settings.image_keys_file, [secrets.token_bytes(IMAGE_KEY_BYTES), *keys])
            else:
                say(f"finishing the interrupted rotation to key {key_id(keys[0])}")
        store.keys.refresh()
        store.ensure_check(store.keys.current)
        result = Rotation(store.keys.current)
        say(f"key {result.key} is current; resealing the stored images under it")
        _wait_for_operations(store)
        for _ in range(MAX_PASSES):
            if not _reseal_pass(store, result):
                break
        else:
            raise UsageError("images keep coming back under old keys; run `scalpcheck keys rotate` again")
        result.retired = _retire(store, settings)
    return _told(result, settings, say)


def _rotate_bucket(settings: Settings, say: Callable[[str], None]) -> Rotation:
    """The rotation of an S3 store: every host reads IMAGE_KEY, so the new key is already current on all
    of them; each image not under it is rewritten (a PUT replaces an object whole), pass after pass."""
    if not settings.image_keys_env:
        raise UsageError(
            "an image store in a bucket is shared by several hosts, whose key files this command cannot "
            "change: put a new key first in IMAGE_KEY on every host (`scalpcheck keys new` prints one), "
            "restart them, then run `scalpcheck keys rotate` with that IMAGE_KEY"
        )
    from scalpcheck.web.s3_store import S3Store

    store = open_store(settings)  # refuses a missing or wrong key before anything changes
    assert isinstance(store, S3Store)
    result = Rotation(store.keys.current)
    say(f"key {result.key} is current; resealing the stored images under it")

    def resealed(place: str) -> None:
        result.resealed += 1

    existing = connect(settings.database_url).live_keys
    for _ in range(MAX_PASSES):
        if not store.reseal_pass(resealed, result.refused, existing):
            break
    else:
        raise UsageError("images keep coming back under old keys; run `scalpcheck keys rotate` again")
    store.retire()
    result.retired = [kid for kid in store.keys.ids if kid != result.key]
    return _told(result, settings, say)


def _told(result: Rotation, settings: Settings, say: Callable[[str], None]) -> Rotation:
    for place in sorted(result.refused):
        say(f"warning: {place} cannot be opened (altered in the store?) and was left as it was")
    counts = f"{result.resealed} image(s) ({result.unsealed} from before encryption)"
    say(f"resealed {counts} under key {result.key}")
    if result.retired and settings.image_keys_env:
        say(f"no image uses key(s) {', '.join(result.retired)} any more: IMAGE_KEY may drop them")
    elif result.retired:
        say(f"retired key(s) {', '.join(result.retired)}")
    return result


@contextmanager
def _only_rotation(store: FolderStore) -> Iterator[None]:
    with open_dir(store.keys_dir) as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError("another `scalpcheck keys rotate` is running on this store") from None
        yield


def _remove_leftovers(store: FolderStore, settings: Settings) -> None:
    """The temporary files of a rotation killed while writing them (the key file's holds an unused key)."""
    for folder, pattern in (
        (store.keys_dir, ".*.tmp"),
        (settings.home, f".{settings.image_keys_file.name}.*.tmp"),
    ):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)


def _wait_for_operations(store: FolderStore) -> None:
    """Wait for every operation pending now: one that read the keys before the new one came finishes."""
    if not store.pending.is_dir():
        return
    for folder in list(store.pending.iterdir()):
        try:
            with locked(folder):
                pass
        except (FileNotFoundError, NotADirectoryError):  # finished meanwhile
            pass


def _reseal_pass(store: FolderStore, result: Rotation) -> bool:
    """Reseal what is not under the current key, in place and pending; True when anything moved."""
    changed = False
    for folder in image_folders(store.root):
        try:
            with locked(folder) as fd:
                if os.stat(folder).st_ino != os.fstat(fd).st_ino:  # moved meanwhile: a deletion has it
                    changed = True
                    continue
                changed |= _reseal_in(store, fd, folder.name, result)
        except FileNotFoundError:
            changed = True
    if store.pending.is_dir():
        for operation in sorted(store.pending.iterdir()):
            if not operation.name.startswith(".") and operation.is_dir():
                changed |= _reseal_pending(store, operation, result)
    return changed


def _reseal_pending(store: FolderStore, operation: Path, result: Rotation) -> bool:
    if all(_is_current(store, path, result) for _, path in _pending_images(operation)):
        return False  # nothing to wait for: the operation sealed under the current key
    try:
        with locked(operation):  # the operation finishes, or it is dead and recovery must wait for us
            if not operation.exists():
                return True  # settled meanwhile: its images went somewhere the next pass looks
            for key, folder in _pending_folders(operation):
                with open_dir(folder) as fd:
                    _reseal_in(store, fd, key, result)
    except FileNotFoundError:
        pass
    return True


def _reseal_in(store: FolderStore, fd: int, key: str, result: Rotation) -> bool:
    """Reseal the images of one assessment's folder (open as `fd`, locked); True when any changed."""
    changed = False
    for name in sorted(os.listdir(fd)):
        if name.startswith("."):
            if name.endswith(".tmp"):  # a rotation killed while writing it
                os.unlink(name, dir_fd=fd)
                changed = True
            continue
        place = f"{key}/{name}"
        data = _read(fd, name)
        if sealed_key_id(data) == store.keys.current or place in result.refused:
            continue
        try:
            image = store.opened(data, place)
        except SealError:
            result.refused.add(place)
            continue
        replace_in(fd, name, store.keys.seal(image, place))
        result.resealed += 1
        result.unsealed += not is_sealed(data)
        changed = True
    if changed:
        os.fsync(fd)
    return changed


def _retire(store: FolderStore, settings: Settings) -> list[str]:
    """Drop every key but the current one: first its check file, then (without IMAGE_KEY) its key."""
    current = store.keys.current
    old = [kid for kid in store.keys.ids if kid != current]
    with open_dir(store.keys_dir) as fd:
        for name in [*used_key_ids(store.root), PLAIN]:
            if name != current and os.path.exists(store.keys_dir / name):
                os.unlink(name, dir_fd=fd)
        os.fsync(fd)
    if not settings.image_keys_env and old:
        _save_keys(settings.image_keys_file, settings.image_keys()[:1])
    return old


def _save_keys(path: Path, keys: list[bytes]) -> None:
    text = "".join(encode_image_key(key) + "\n" for key in keys)
    with open_dir(path.parent) as fd:
        replace_in(fd, path.name, text.encode())
        os.fsync(fd)


def _pending_folders(operation: Path) -> list[tuple[str, Path]]:
    if operation.name.startswith(ADD):
        return [(operation.name.removeprefix(ADD), operation)]
    if operation.name.startswith(DELETE):
        return [(child.name, child) for child in sorted(operation.iterdir()) if child.is_dir()]
    return []


def _pending_images(operation: Path) -> Iterator[tuple[str, Path]]:
    try:
        for key, folder in _pending_folders(operation):
            for path in sorted(folder.iterdir()):
                yield key, path
    except FileNotFoundError:  # settled meanwhile
        return


def _is_current(store: FolderStore, path: Path, result: Rotation) -> bool:
    """Whether a pending image needs nothing from the rotation (a refused one never will)."""
    if path.name.startswith("."):
        return not path.name.endswith(".tmp")
    if f"{path.parent.name}/{path.name}" in result.refused:
        return True
    try:
        with open(path, "rb") as f:
            return sealed_key_id(f.read(HEADER_BYTES)) == store.keys.current
    except FileNotFoundError:
        return False


def _read(fd: int, name: str) -> bytes:
    file = os.open(name, os.O_RDONLY, dir_fd=fd)
    with os.fdopen(file, "rb") as f:
        return f.read()
