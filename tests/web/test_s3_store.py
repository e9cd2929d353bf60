"""The image store in an S3-compatible bucket, against real servers on loopback (rclone's and moto's): the
folder store's promises hold there too, and two app hosts that share only the database and the bucket
serve each other's photos."""

from __future__ import annotations

import io
import os
import secrets
import shutil

import pytest
from PIL import Image
from sqlalchemy import select

from scalpcheck.errors import UsageError
from scalpcheck.settings import load_settings
from scalpcheck.web.crypto import is_sealed
from scalpcheck.web.extensions import app_state, db
from scalpcheck.web.models import Assessment
from scalpcheck.web.s3_store import S3Store
from scalpcheck.web.storage import open_store
from tests.helpers.api import bearer
from tests.helpers.photos import jpeg_bytes, phantom
from tests.helpers.storage import (
    add,
    add_assessments,
    assert_consistent,
    die_inside,
    empty_target,
    picture,
)
from tests.helpers.web import PASSWORD, AuthActions

PHOTO = b"\xff\xd8 a photo that must never lie in the bucket in the clear"


@pytest.fixture
def store(s3, home) -> S3Store:
    opened = open_store(load_settings())
    assert isinstance(opened, S3Store)
    return opened


def objects(s3) -> list[str]:
    """The bucket's objects under the store's prefix, without the key check files."""
    return [
        name.removeprefix("scalpcheck/")
        for name in s3.server.objects(s3.bucket)
        if not name.startswith("scalpcheck/.keys/")
    ]


def test_adding_puts_three_sealed_objects_in_place(s3, store):
    key = add(store, PHOTO)
    assert objects(s3) == [
        f"{key[:2]}/{key}/{name}" for name in ("overlay.jpg", "photo.jpg", "thumbnail.jpg")
    ]
    raw = s3.server.client().get_object(Bucket=s3.bucket, Key=f"scalpcheck/{key[:2]}/{key}/photo.jpg")
    body = raw["Body"].read()
    assert is_sealed(body) and PHOTO not in body
    assert store.fetch(key, "photo.jpg").data == PHOTO
    with Image.open(io.BytesIO(store.fetch(key, "thumbnail.jpg").data)) as thumb:
        assert max(thumb.size) == 192
    with pytest.raises(FileNotFoundError):
        store.fetch(key, "photo.png")


def test_a_failed_commit_leaves_nothing(s3, store):
    with pytest.raises(RuntimeError), store.adding(PHOTO, "image/jpeg", picture(), picture(seed=1)):
        raise RuntimeError("the row's commit failed")
    assert objects(s3) == []


def test_removing_deletes_the_objects_and_a_failed_commit_keeps_them(s3, store):
    kept, gone = add(store), add(store)
    with pytest.raises(RuntimeError), store.removing([kept]):
        raise RuntimeError("the deletion's commit failed")
    with store.removing([gone]):
        pass
    assert objects(s3) == [
        f"{kept[:2]}/{kept}/{name}" for name in ("overlay.jpg", "photo.jpg", "thumbnail.jpg")
    ]


def test_a_process_killed_mid_upload_is_settled_by_the_database(s3, store):
    """SIGKILL between the images and the row's commit: the marker is left; once it is older than the
    settle time, any host removes the images whose row never came, and keeps those whose row did."""
    die_inside(lambda: store.adding(PHOTO, "image/jpeg", picture(), picture(seed=1)))
    die_inside(lambda: store.adding(PHOTO, "image/jpeg", picture(), picture(seed=2)))
    markers = store.pending_markers()
    assert len(markers) == 2 and len(objects(s3)) == 2 + 2 * 3
    committed = markers[0].removeprefix("add-")
    assert store.recover(lambda keys: set(keys)) == 0, (
        "a live upload (younger than the settle time) was taken"
    )
    store.settle_after_s = 0
    assert store.recover(lambda keys: {k for k in keys if k == committed}) == 2
    assert objects(s3) == [
        f"{committed[:2]}/{committed}/{n}" for n in ("overlay.jpg", "photo.jpg", "thumbnail.jpg")
    ]


def test_a_process_killed_after_a_deletion_committed_leaves_no_orphan(s3, store):
    key = add(store)

    def removed_and_committed():
        return store.removing([key])

    die_inside(removed_and_committed)
    assert len(store.pending_markers()) == 1
    store.settle_after_s = 0
    assert store.recover(lambda keys: set()) == 1  # the row is gone
    assert objects(s3) == []


def test_a_start_with_the_wrong_key_or_no_bucket_fails_loudly(s3, store, monkeypatch, home):
    add(store)
    monkeypatch.setenv("IMAGE_KEY", "A" * 43 + "=")
    with pytest.raises(UsageError, match="does not have"):
        open_store(load_settings())
    monkeypatch.delenv("IMAGE_KEY")
    shutil.move(home / "image_keys", home / "image_keys.away")
    with pytest.raises(UsageError, match="no image key"):
        open_store(load_settings())
    shutil.move(home / "image_keys.away", home / "image_keys")
    monkeypatch.setenv("IMAGE_STORE_URL", "s3://no-such-bucket-here/x")
    with pytest.raises(UsageError, match="cannot be reached"):
        open_store(load_settings())


def signed_up(client, username: str = "alice") -> dict:
    """The bearer header of a new account, made through `client`'s host."""
    assert AuthActions(client).register(username).status_code == 303
    reply = client.post("/api/v1/tokens", auth=(username, PASSWORD))
    assert reply.status_code == 201
    return bearer(reply.json["token"])


def upload(client, headers: dict, photo: bytes):
    form = {"image": (io.BytesIO(photo), "photo.jpg"), "task": "hairloss"}
    return client.post("/api/v1/assessments", data=form, headers=headers, content_type="multipart/form-data")


def test_a_bucket_that_goes_away_is_answered_503_and_stores_nothing(s3, random_models, make_app):
    app = make_app()
    client = app.test_client()
    headers = signed_up(client)
    store = app_state(app).store
    bucket, store.bucket.name = store.bucket.name, "no-such-bucket-here"
    reply = upload(client, headers, jpeg_bytes(phantom(seed=3)))
    store.bucket.name = bucket
    assert reply.status_code == 503 and reply.json["error"]["code"] == "service_unavailable"
    assert reply.headers["Retry-After"]
    assert assert_consistent(app).rows == 0


def test_two_hosts_share_the_bucket_and_the_database(
    database, s3, random_bundles, make_app, tmp_path, monkeypatch
):
    """Two app hosts with separate home folders share only PostgreSQL, Redis and the bucket (and the image
    key): a photo uploaded through one is shown, reported and deleted through the other. (Both apps live
    in this process, so Flask-Limiter's one limiter serves both: that Redis shares the limits between
    processes is the brute-force test's, in tests/hardening/test_servers.py.)"""
    if database != "postgresql" or not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("several hosts share a database server and Redis; SQLite is one host's file")
    from scalpcheck import bundle

    monkeypatch.setenv("IMAGE_KEY", "k" * 43 + "=")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", os.environ["TEST_REDIS_URL"])
    hosts = []
    for name in ("a", "b"):
        home = tmp_path / f"host-{name}"
        for task, path in random_bundles.items():
            bundle.publish(path, home / "models", task)
        monkeypatch.setenv("SCALPCHECK_HOME", str(home))
        hosts.append(make_app().test_client())
    first, second = hosts
    headers = signed_up(first)
    created = upload(first, headers, jpeg_bytes(phantom("hairloss", "stage_2", seed=4)))
    assert created.status_code == 201, created.json
    links = created.json["links"]
    for link in (links["image"], links["heatmap"]):
        shown = second.get(link, headers=headers)
        assert shown.status_code == 200 and shown.data == first.get(link, headers=headers).data
    report = second.get("/api/v1/reports/hairloss.pdf", headers=headers)
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert second.delete(links["self"], headers=headers).status_code == 204
    assert first.get(links["image"], headers=headers).status_code == 404
    assert objects(s3) == []
    for name in ("a", "b"):  # neither host kept an image of its own
        assert not (tmp_path / f"host-{name}" / "uploads").exists()


def test_keys_rotate_reseals_every_object_under_image_keys_new_first(s3, make_app, monkeypatch):
    from scalpcheck.settings import encode_image_key
    from scalpcheck.web.crypto import key_id, sealed_key_id
    from scalpcheck.web.rotation import rotate

    old, new = (secrets.token_bytes(32) for _ in range(2))
    monkeypatch.setenv("IMAGE_KEY", encode_image_key(old))
    made = add_assessments(make_app(), "alice", 3)
    monkeypatch.delenv("IMAGE_KEY")
    with pytest.raises(UsageError, match="IMAGE_KEY on every host"):
        rotate(load_settings())
    monkeypatch.setenv("IMAGE_KEY", f"{encode_image_key(new)},{encode_image_key(old)}")
    result = rotate(load_settings(), say=lambda line: None)
    assert result.resealed == 9 and result.retired == [key_id(old)] and not result.refused
    client = s3.server.client()
    for name in objects(s3):
        body = client.get_object(Bucket=s3.bucket, Key=f"scalpcheck/{name}")["Body"].read()
        assert sealed_key_id(body) == key_id(new)
    monkeypatch.setenv("IMAGE_KEY", encode_image_key(new))  # the old key dropped: everything still opens
    app = make_app()
    store = app_state(app).store
    with app.app_context():
        for number, images in made.items():
            key = db.session.get_one(Assessment, number).image_key
            assert {name: store.fetch(key, f"{name}.jpg").data for name in images} == images
    assert rotate(load_settings(), say=lambda line: None).resealed == 0  # a rerun finds nothing left


def test_a_reseal_that_races_a_deletion_leaves_no_orphan(s3, store):
    """An image resealed after a deletion removed it would come back without its row: the pass deletes
    what it rewrote when no row and no upload under way claim it."""
    from scalpcheck.web.crypto import KeyRing

    add(store)  # an orphan: no row claims it
    uploading = add(store)
    store.bucket.put(f".pending/add-{uploading}", b"")
    newer = S3Store(store.bucket, KeyRing(lambda: [secrets.token_bytes(32), *load_settings().image_keys()]))
    refused: set[str] = set()
    assert newer.reseal_pass(lambda place: None, refused, existing=lambda keys: set())
    assert {name.split("/")[1] for name in objects(s3) if not name.startswith(".")} == {uploading}


def test_a_backup_of_a_bucket_restores_into_a_new_bucket(database, s3, make_app, tmp_path, monkeypatch):
    from scalpcheck.web.backup import backup
    from scalpcheck.web.restore import restore

    app = make_app()
    made = add_assessments(app, "alice", 3)
    result = backup(load_settings(), tmp_path / "backup", say=lambda line: None)
    assert result.manifest["counts"]["images"] == 9 and result.keys_included
    empty_target(tmp_path, monkeypatch, database, [app])
    second = s3.server.new_bucket()
    monkeypatch.setenv("IMAGE_STORE_URL", f"s3://{second}/restored")
    restore(load_settings(), result.folder, say=lambda line: None)
    assert [n for n in s3.server.objects(second) if "/.pending/" in n] == []  # its marker went
    restored = make_app()
    store = app_state(restored).store
    with restored.app_context():
        for number, images in made.items():
            key = db.session.get_one(Assessment, number).image_key
            assert {name: store.fetch(key, f"{name}.jpg").data for name in images} == images
    assert assert_consistent(restored).rows == 3


def test_a_failed_restore_into_a_bucket_leaves_it_empty(database, s3, make_app, tmp_path, monkeypatch):
    from scalpcheck.web import restore as restores
    from scalpcheck.web.backup import backup

    app = make_app()
    add_assessments(app, "alice", 2)
    result = backup(load_settings(), tmp_path / "backup", say=lambda line: None)
    home = empty_target(tmp_path, monkeypatch, database, [app])
    second = s3.server.new_bucket()
    monkeypatch.setenv("IMAGE_STORE_URL", f"s3://{second}/restored")

    def broken(*args):
        raise UsageError("the database does not match the manifest")

    monkeypatch.setattr(restores, "_check_facts", broken)
    with pytest.raises(UsageError, match="does not match"):
        restores.restore(load_settings(), result.folder, say=lambda line: None)
    assert [n for n in s3.server.objects(second) if "/.keys/" not in n] == []
    assert not (home / "image_keys").exists()


def test_a_deletion_while_a_bucket_is_backed_up_is_left_out(database, s3, make_app, tmp_path, monkeypatch):
    """A bucket has no lock a deletion takes: one that runs between two files of an assessment leaves it
    half copied, and the backup leaves it out as deleted, as it does with one deleted before its copy."""
    from scalpcheck.web.backup import backup

    app = make_app()
    add_assessments(app, "alice", 3)
    real = S3Store.stored_files
    deleted: list[str] = []

    def racing(store, key, names):
        found = real(store, key, names)
        if not deleted:  # the first assessment goes after its photo was read
            with app.app_context():
                row = db.session.scalars(select(Assessment).where(Assessment.image_key == key)).one()
                with store.removing([key]):
                    db.session.delete(row)
                    db.session.commit()
            deleted.append(key)
            return {names[0]: found[names[0]]}
        return found

    monkeypatch.setattr(S3Store, "stored_files", racing)
    result = backup(load_settings(), tmp_path / "backup", say=lambda line: None)
    assert result.manifest["left_out"] == deleted
    assert result.manifest["counts"]["images"] == 6
    assert not any(deleted[0] in name for name in result.manifest["files"])
