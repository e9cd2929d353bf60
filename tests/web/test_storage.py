"""The image store: images and rows change together, even when the process dies in between."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from scalpcheck.web import storage
from scalpcheck.web.extensions import app_state
from scalpcheck.web.storage import ABANDONED_AFTER_S, ImageStore


def picture(side: int = 300, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def add(store: ImageStore, photo: bytes = b"\xff\xd8photo", media_type: str = "image/jpeg") -> str:
    with store.adding(photo, media_type, preview=picture(), overlay=picture(seed=1)) as key:
        pass
    return key


def die_inside(operation) -> None:
    """Run the `with operation():` block in a child process and SIGKILL it there, as a worker can be."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            with operation():
                os.write(ready_w, b"x")
                time.sleep(60)
        finally:
            os._exit(1)
    os.read(ready_r, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(ready_r)
    os.close(ready_w)


@pytest.fixture
def store(tmp_path) -> ImageStore:
    return ImageStore(tmp_path / "uploads")


def test_adding_puts_three_files_in_place(store):
    key = add(store)
    assert len(key) == 32
    assert files(store.root) == [
        f"{key[:2]}/{key}/{name}" for name in ("overlay.jpg", "photo.jpg", "thumbnail.jpg")
    ]
    assert store.photo_path(key, "image/jpeg").read_bytes() == b"\xff\xd8photo"
    with Image.open(store.thumbnail_path(key)) as thumb:
        assert max(thumb.size) == storage.THUMBNAIL_SIDE
    with Image.open(store.overlay_path(key)) as overlay:
        assert overlay.format == "JPEG" and overlay.size == (300, 300)
    other = add(store, b"png", "image/png")
    assert other != key and store.photo_path(other, "image/png").name == "photo.png"
    assert list(store.pending.iterdir()) == []


def test_a_failed_commit_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.adding(b"photo", "image/jpeg", picture(), picture()):
        raise RuntimeError("the row could not be committed")
    assert files(store.root) == []


def test_a_failed_write_leaves_nothing(store, monkeypatch):
    opened = []

    def open_until_the_disk_is_full(path, mode):
        opened.append(path)
        if len(opened) == 2:
            raise OSError(28, "No space left on device")
        return open(path, mode)

    monkeypatch.setattr(storage, "open", open_until_the_disk_is_full, raising=False)
    with pytest.raises(OSError), store.adding(b"photo", "image/jpeg", picture(), picture()):
        pass
    assert len(opened) == 2
    assert files(store.root) == []


def test_every_image_is_synced_before_the_row_is_committed(store, monkeypatch):
    synced, real_fsync = [], os.fsync

    def recording_fsync(fd):
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", recording_fsync)
    with store.adding(b"photo", "image/jpeg", picture(), picture()) as key:
        staged = store.pending / f"add-{key}"
        names = ("photo.jpg", "overlay.jpg", "thumbnail.jpg")
        expected = [store.pending, staged] + [staged / name for name in names]
        assert sorted(synced) == sorted(path.stat().st_ino for path in expected)


def test_removing_deletes_or_puts_back(store):
    keep, gone = add(store), add(store)
    with pytest.raises(RuntimeError), store.removing([keep]):
        assert not store.photo_path(keep, "image/jpeg").exists()  # out of place while the rows change
        raise RuntimeError("the deletion could not be committed")
    assert store.photo_path(keep, "image/jpeg").exists()
    with store.removing([gone]):
        pass
    assert not store.photo_path(gone, "image/jpeg").parent.exists()
    assert [path.split("/")[1] for path in files(store.root)] == [keep] * 3
    assert list(store.pending.iterdir()) == []


@pytest.mark.parametrize("committed", [False, True])
def test_recovery_settles_an_upload_killed_mid_way(store, committed):
    die_inside(lambda: store.adding(b"photo", "image/jpeg", picture(), picture()))
    [pending] = store.pending.iterdir()
    key = pending.name.removeprefix("add-")
    asked = []

    def existing(keys):
        asked.extend(keys)
        return set(keys) if committed else set()

    assert store.recover(existing) == 1
    assert asked == [key]
    assert list(store.pending.iterdir()) == []
    assert store.photo_path(key, "image/jpeg").exists() is committed
    assert store.recover(existing) == 0


@pytest.mark.parametrize("committed", [False, True])
def test_recovery_settles_a_deletion_killed_mid_way(store, committed):
    keys = [add(store), add(store)]
    die_inside(lambda: store.removing(keys))
    assert not any(store.photo_path(key, "image/jpeg").exists() for key in keys)
    # committed: the rows are gone, so are the images; not committed: the rows remain, the images return
    store.recover(lambda asked: set() if committed else set(asked))
    assert all(store.photo_path(key, "image/jpeg").exists() is not committed for key in keys)
    assert list(store.pending.iterdir()) == []


def test_recovery_leaves_running_operations_alone(store):
    with store.adding(b"photo", "image/jpeg", picture(), picture()) as key:
        assert store.recover(lambda keys: pytest.fail("asked about a live operation")) == 0
    assert store.photo_path(key, "image/jpeg").exists()


def test_recovery_removes_old_abandoned_hidden_folders_only(store):
    store.pending.mkdir(parents=True)
    old, young = store.pending / ".old", store.pending / ".young"
    old.mkdir()
    young.mkdir()
    past = time.time() - ABANDONED_AFTER_S - 5
    os.utime(old, (past, past))
    assert store.recover(lambda keys: set()) == 1
    assert not old.exists() and young.exists()


def test_store_refuses_keys_it_did_not_make(store):
    for key in ("../../etc/passwd", "", "a" * 31, "a/" + "b" * 30):
        with pytest.raises(ValueError):
            store.overlay_path(key)


def test_a_new_worker_settles_what_a_dead_one_left(make_app, auth_rows):
    """At start, the app asks its database about every dead operation: the committed upload is kept."""
    app = make_app()
    store = app_state(app).store
    committed, abandoned = (store.pending / f"add-{key}" for key in ("c" * 32, "a" * 32))
    for folder in (committed, abandoned):
        folder.mkdir(parents=True)
        (folder / "photo.jpg").write_bytes(b"photo")
    auth_rows(app, image_key="c" * 32)
    make_app()  # a fresh worker
    assert store.photo_path("c" * 32, "image/jpeg").exists()
    assert not store.photo_path("a" * 32, "image/jpeg").exists()
    assert list(store.pending.iterdir()) == []
