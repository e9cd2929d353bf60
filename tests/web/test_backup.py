"""`scalpcheck backup` and `scalpcheck restore` (scalpcheck.web.backup): everything comes back into a fresh
home, a backup taken during uploads and deletions is consistent, and a damaged or mismatched backup is refused
with the target left empty. On SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from scalpcheck.cli import main
from scalpcheck.settings import load_settings
from scalpcheck.web import backup as backups
from scalpcheck.web.crypto import new_key
from scalpcheck.web.extensions import app_state, db
from scalpcheck.web.models import Assessment
from scalpcheck.web.restore import restore
from tests.helpers.api import bearer
from tests.helpers.storage import (
    add_assessments,
    assert_consistent,
    delete_one,
    empty_target,
    target_is_empty,
)
from tests.helpers.web import PASSWORD


@pytest.fixture
def filled(app, client, auth, token):
    """alice with a token and three assessments, bob with two: (token, {row id: images}, API JSON of each)."""
    alice = token("alice")
    auth.register("bob")
    made = add_assessments(app, "alice", 3) | add_assessments(app, "bob", 2, seed=10)
    with app.app_context():
        owners = dict(db.session.execute(select(Assessment.id, Assessment.user_id)).all())
    alice_id = min(owners.values())
    answers = {
        row: client.get(f"/api/v1/assessments/{row}", headers=bearer(alice)).json
        for row, owner in owners.items()
        if owner == alice_id
    }
    return alice, made, answers


def test_restore_gives_back_every_user_assessment_and_image(
    database, app, filled, make_app, tmp_path, monkeypatch, capsys
):
    alice, made, answers = filled
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    said = capsys.readouterr().out
    assert "2 user(s), 5 assessment(s) and 15 image(s)" in said and "holds the image key" in said
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["database"] == database and manifest["keys"]["included"]

    home = empty_target(tmp_path, monkeypatch, database, [app])
    assert main(["restore", str(out)]) == 0
    assert "restored 2 user(s), 5 assessment(s) and 15 image(s)" in capsys.readouterr().out

    restored = make_app()
    client = restored.test_client()
    for username in ("alice", "bob"):
        response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303 and "/auth/login" not in response.location
        client.post("/auth/logout")
    for row, answer in answers.items():  # the token came back too
        assert client.get(f"/api/v1/assessments/{row}", headers=bearer(alice)).json == answer
    store = app_state(restored).store
    with restored.app_context():
        keys = dict(db.session.execute(select(Assessment.id, Assessment.image_key)).all())
    for row, images in made.items():
        key = keys[row]
        assert store.read(store.photo_path(key, "image/jpeg")) == images["photo"]
        assert store.read(store.overlay_path(key)) == images["overlay"]
        assert store.read(store.thumbnail_path(key)) == images["thumbnail"]
    assert_consistent(restored)
    assert store.root == home / "uploads"


def test_a_backup_during_uploads_and_deletions_is_consistent(database, app, make_app, tmp_path, monkeypatch):
    add_assessments(app, "alice", 4)
    store = app_state(app).store
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn():
        n = 100
        try:
            while not stop.is_set():
                add_assessments(app, "alice", 2, seed=n)
                with app.app_context():
                    row = db.session.scalars(select(Assessment).order_by(Assessment.id)).first()
                    with store.removing([row.image_key]):
                        db.session.delete(row)
                        db.session.commit()
                n += 2
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        results = [
            backups.backup(load_settings(), tmp_path / f"backup-{n}", say=lambda _: None) for n in range(3)
        ]
    finally:
        stop.set()
        worker.join()
    assert not errors
    for n, result in enumerate(results):
        counts, left_out = result.manifest["counts"], result.manifest["left_out"]
        assert counts["images"] == 3 * (counts["assessments"] - len(left_out))
        assert counts["assessments"] >= 4
        home = empty_target(tmp_path / f"target-{n}", monkeypatch, database, [app])
        restore(load_settings(), result.folder, say=lambda _: None)
        restored = make_app()
        state = assert_consistent(restored)  # every row has its images, and there is no other image
        assert state.rows == counts["assessments"] - len(left_out)
        for path in (home / "uploads").rglob("*.jpg"):
            restored_store = app_state(restored).store
            restored_store.read(path)  # opens under the restored key
        with restored.app_context():
            db.engine.dispose()


def test_an_assessment_deleted_during_the_backup_stays_deleted(
    database, app, make_app, tmp_path, monkeypatch
):
    add_assessments(app, "alice", 3)
    copy_images = backups._copy_images
    deleted = []

    def deleting_first(store, images, out):  # after the snapshot, before its images are copied
        deleted.append(delete_one(app))
        return copy_images(store, images, out)

    monkeypatch.setattr(backups, "_copy_images", deleting_first)
    result = backups.backup(load_settings(), tmp_path / "backup", say=lambda _: None)
    assert result.manifest["left_out"] == deleted
    assert result.manifest["counts"]["assessments"] == 3 and result.manifest["counts"]["images"] == 6
    empty_target(tmp_path, monkeypatch, database, [app])
    restore(load_settings(), result.folder, say=lambda _: None)
    restored = make_app()
    assert assert_consistent(restored).rows == 2
    with restored.app_context():
        assert deleted[0] not in set(db.session.scalars(select(Assessment.image_key)))


def break_photo(out):
    photo = next((out / "images").rglob("photo.jpg"))
    data = bytearray(photo.read_bytes())
    data[len(data) // 2] ^= 0x01
    photo.write_bytes(bytes(data))


def edit_manifest(out, change, recompute=False):
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    if recompute:  # as a backup of another version would be: a valid manifest saying something else
        manifest["checksum"] = backups.manifest_checksum(manifest)
    path.write_text(json.dumps(manifest))


def pass_off_as_the_other_kind(out):
    """The backup as the other kind of database would have written it."""
    manifest = json.loads((out / "manifest.json").read_text())
    kind = manifest["database"]
    other = "postgresql" if kind == "sqlite" else "sqlite"
    old, new = backups.DATABASE_FILES[kind], backups.DATABASE_FILES[other]
    (out / old).rename(out / new)

    def change(m):
        m["database"] = other
        m["files"][new] = m["files"].pop(old)

    edit_manifest(out, change, recompute=True)


DAMAGE = {
    "a flipped byte in a photo": (break_photo, "photo.jpg: its checksum does not match"),
    "a missing file": (
        lambda out: next((out / "images").rglob("overlay.jpg")).unlink(),
        "overlay.jpg: missing",
    ),
    "a flipped byte in the database": (
        lambda out: (out / next(out.glob("database.*")).name).write_bytes(b"\0" * 64),
        "database.",
    ),
    "no manifest": (lambda out: (out / "manifest.json").unlink(), "has no manifest.json"),
    "a manifest that is not JSON": (lambda out: (out / "manifest.json").write_text("{"), "not JSON"),
    "an edited manifest": (
        lambda out: edit_manifest(out, lambda m: m["counts"].update(users=9)),
        "does not match its own checksum",
    ),
    "another schema revision": (
        lambda out: edit_manifest(out, lambda m: m.update(schema_revision="0003"), recompute=True),
        "schema revision 0003",
    ),
    "another database kind": (lambda out: pass_off_as_the_other_kind(out), "restore it into a"),
    "a count that does not match the database": (
        lambda out: edit_manifest(out, lambda m: m["counts"].update(users=9), recompute=True),
        "count of users does not match",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_or_mismatched_backup_is_refused_and_nothing_is_written(
    damage, database, app, tmp_path, monkeypatch, capsys
):
    add_assessments(app, "alice", 2)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    spoil, message = DAMAGE[damage]
    spoil(out)
    home = empty_target(tmp_path, monkeypatch, database, [app])
    capsys.readouterr()
    assert main(["restore", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("scalpcheck restore: error: ") and message in error and error.count("\n") == 1
    assert target_is_empty(home, database)


def test_restore_into_a_home_with_data_is_refused(database, app, tmp_path, capsys):
    add_assessments(app, "alice", 1)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    before = assert_consistent(app)
    assert main(["restore", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert assert_consistent(app) == before


def test_restore_refuses_images_left_in_the_store(database, app, tmp_path, monkeypatch, capsys):
    add_assessments(app, "alice", 1)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    home = empty_target(tmp_path, monkeypatch, database, [app])
    (home / "uploads" / "ab" / ("ab" + "x" * 30)).mkdir(parents=True)
    assert main(["restore", str(out)]) == 2
    assert "uploads is not empty" in capsys.readouterr().err


def test_backup_refuses_a_folder_that_is_not_empty(app, tmp_path, capsys):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    assert main(["backup", str(tmp_path / "backup")]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["notes.txt"]


def test_without_keys_the_restore_needs_the_key(database, app, make_app, tmp_path, monkeypatch, capsys):
    add_assessments(app, "alice", 2)
    key_text = load_settings().image_keys_file.read_text().strip()
    out = tmp_path / "backup"
    assert main(["backup", "--without-keys", str(out)]) == 0
    assert "holds no image key" in capsys.readouterr().out
    assert not (out / "image_keys").exists()

    home = empty_target(tmp_path, monkeypatch, database, [app])
    monkeypatch.setenv("IMAGE_KEY", new_key())  # not the images' key
    assert main(["restore", str(out)]) == 2
    assert "which IMAGE_KEY does not have" in capsys.readouterr().err
    assert target_is_empty(home, database)

    monkeypatch.setenv("IMAGE_KEY", key_text)
    assert main(["restore", str(out)]) == 0
    assert assert_consistent(make_app()).rows == 2
    assert not (home / "image_keys").exists()


def test_with_image_key_set_the_backup_carries_no_key(tmp_path, monkeypatch, make_app, capsys):
    key = new_key()
    monkeypatch.setenv("IMAGE_KEY", key)
    keyed = make_app()
    add_assessments(keyed, "alice", 1)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    assert "from IMAGE_KEY" in capsys.readouterr().out
    assert "image_keys" not in json.loads((out / "manifest.json").read_text())["files"]


def test_a_backup_is_readable_by_its_owner_only(app, tmp_path):
    add_assessments(app, "alice", 1)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    assert out.stat().st_mode & 0o077 == 0
    assert all(p.stat().st_mode & 0o077 == 0 for p in out.rglob("*") if p.is_file())
