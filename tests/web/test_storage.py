"""The image store: images and rows change together, even when the process dies in between."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image

from scalpcheck.errors import UsageError
from scalpcheck.settings import load_settings
from scalpcheck.web import crypto, storage
from scalpcheck.web.extensions import app_state, db
from scalpcheck.web.models import Assessment
from scalpcheck.web.rotation import rotate
from scalpcheck.web.storage import ABANDONED_AFTER_S, ImageStore, open_store
from tests.helpers.storage import add, add_assessments, die_inside, picture
from tests.helpers.web import PASSWORD


def files(root) -> list[str]:
    """The images and pending files under `root` (not the key check files of `.keys/`)."""
    found = (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return sorted(f for f in found if not f.startswith(storage.KEYS))


@pytest.fixture
def store(home) -> ImageStore:
    return open_store(load_settings())


def test_adding_puts_three_files_in_place(store):
    key = add(store)
    assert len(key) == 32
    assert files(store.root) == [
        f"{key[:2]}/{key}/{name}" for name in ("overlay.jpg", "photo.jpg", "thumbnail.jpg")
    ]
    assert store.read(store.photo_path(key, "image/jpeg")) == b"\xff\xd8photo"
    with Image.open(io.BytesIO(store.read(store.thumbnail_path(key)))) as thumb:
        assert max(thumb.size) == storage.THUMBNAIL_SIDE
    with Image.open(io.BytesIO(store.read(store.overlay_path(key)))) as overlay:
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


def test_images_are_sealed_on_disk(store):
    key = add(store)
    for path in (store.photo_path(key, "image/jpeg"), store.overlay_path(key), store.thumbnail_path(key)):
        data = path.read_bytes()
        assert data.startswith(crypto.MAGIC) and not data.startswith(b"\xff\xd8")
        assert crypto.sealed_key_id(data) == store.keys.current
    assert b"photo" not in store.photo_path(key, "image/jpeg").read_bytes()
    assert [p.name for p in store.keys_dir.iterdir()] == [store.keys.current]  # the key's check file


def test_a_photo_round_trips_through_the_pages_and_the_api(app, client, token):
    bearer = {"Authorization": f"Bearer {token()}"}
    client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    [(row_id, images)] = add_assessments(app, "alice", 1).items()
    for path, kind in (("image", "photo"), ("heatmap", "overlay"), ("thumbnail", "thumbnail")):
        page = client.get(f"/assessments/{row_id}/{path}")
        assert page.status_code == 200 and page.data == images[kind] and page.mimetype == "image/jpeg"
        assert page.headers["Cache-Control"] == "private, no-store"
        again = client.get(f"/assessments/{row_id}/{path}", headers={"If-None-Match": page.headers["ETag"]})
        assert again.status_code == 304
    for path, kind in (("image", "photo"), ("heatmap", "overlay")):
        api = client.get(f"/api/v1/assessments/{row_id}/{path}", headers=bearer)
        assert api.status_code == 200 and api.data == images[kind]


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "swapped", "unsealed"])
def test_a_damaged_image_is_refused_never_served(app, client, auth, caplog, damage):
    auth.signup()
    made = add_assessments(app, "alice", 2)
    store = app_state(app).store
    with app.app_context():
        first, second = (db.session.get(Assessment, row_id).image_key for row_id in made)
    path = store.photo_path(first, "image/jpeg")
    data = path.read_bytes()
    damaged = {
        "flipped byte": lambda: data[:-1] + bytes([data[-1] ^ 1]),
        "truncated": lambda: data[: len(data) // 2],
        "swapped": lambda: store.photo_path(second, "image/jpeg").read_bytes(),
        "unsealed": lambda: made[min(made)]["photo"],  # the photo itself, in the clear
    }[damage]()
    path.write_bytes(damaged)
    response = client.get(f"/assessments/{min(made)}/image")
    assert response.status_code == 500
    assert response.data != made[min(made)]["photo"] and not response.data.startswith(b"\xff\xd8")
    assert "stored image refused" in caplog.text and first in caplog.text
    assert client.get(f"/assessments/{max(made)}/image").data == made[max(made)]["photo"]


def test_a_wrong_key_fails_at_start_up(make_app, monkeypatch):
    app = make_app()
    add(app_state(app).store)
    monkeypatch.setenv("IMAGE_KEY", crypto.new_key())
    with pytest.raises(UsageError, match=f"sealed under key.*{app_state(app).store.keys.current}"):
        make_app()


def test_a_missing_key_file_fails_at_start_up_and_is_not_replaced(make_app, home):
    app = make_app()
    add(app_state(app).store)
    (home / "image_keys").unlink()
    with pytest.raises(UsageError, match="no image key"):
        make_app()
    assert not (home / "image_keys").exists()


def test_an_altered_check_file_fails_at_start_up(make_app):
    app = make_app()
    store = app_state(app).store
    check = store.keys_dir / store.keys.current
    check.write_bytes(check.read_bytes()[:-1] + b"\0")
    with pytest.raises(UsageError, match="image key check failed"):
        make_app()


def test_images_from_before_encryption_are_read_until_a_rotation_seals_them(home, make_app):
    old = home / "uploads" / "ab" / ("ab" + "c" * 30)
    old.mkdir(parents=True)
    for name in ("photo.jpg", "overlay.jpg", "thumbnail.jpg"):
        (old / name).write_bytes(b"\xff\xd8 before encryption " + name.encode())
    app = make_app()
    store = app_state(app).store
    assert store.read(old / "photo.jpg") == b"\xff\xd8 before encryption photo.jpg"
    assert (store.keys_dir / storage.PLAIN).exists()
    result = rotate(load_settings(), say=lambda line: None)
    assert result.unsealed == 3 and not (store.keys_dir / storage.PLAIN).exists()
    assert crypto.is_sealed((old / "photo.jpg").read_bytes())
    assert store.read(old / "photo.jpg") == b"\xff\xd8 before encryption photo.jpg"
    (old / "overlay.jpg").write_bytes(b"\xff\xd8 put back in the clear")
    with pytest.raises(crypto.SealError, match="not sealed"):
        store.read(old / "overlay.jpg")
