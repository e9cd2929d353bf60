"""`scalpcheck keys rotate`: every image resealed under a new key, the old one retired, the app serving on."""

from __future__ import annotations

import fcntl
import os

import pytest

from scalpcheck.cli import main
from scalpcheck.errors import UsageError
from scalpcheck.settings import load_settings, parse_image_keys
from scalpcheck.web import crypto
from scalpcheck.web.crypto import key_id, new_key
from scalpcheck.web.extensions import app_state
from scalpcheck.web.rotation import rotate
from scalpcheck.web.storage import image_files
from tests.helpers.storage import add_assessments, assert_consistent


def key_ids_on_disk(store) -> set[str | None]:
    return {crypto.sealed_key_id(path.read_bytes()) for path in image_files(store.root)}


def quiet(line: str) -> None:
    pass


def test_rotate_reseals_everything_and_retires_the_old_key(app, client, auth, home):
    auth.signup()
    made = add_assessments(app, "alice", 3)
    store = app_state(app).store  # the running app's: it read the keys before the rotation
    old = store.keys.current
    result = rotate(load_settings(), say=quiet)
    assert result.key != old and result.resealed == 9 and result.retired == [old]
    assert key_ids_on_disk(store) == {result.key}
    assert [key_id(k) for k in parse_image_keys((home / "image_keys").read_text(), "test")] == [result.key]
    assert sorted(p.name for p in store.keys_dir.iterdir()) == [result.key]
    for row_id, images in made.items():
        assert client.get(f"/assessments/{row_id}/image").data == images["photo"]
        assert client.get(f"/assessments/{row_id}/thumbnail").data == images["thumbnail"]
    add_assessments(app, "alice", 1, seed=10)  # the running app seals new images under the new key
    assert key_ids_on_disk(store) == {result.key}
    assert_consistent(app)
    assert rotate(load_settings(), say=quiet).key not in (old, result.key)  # and again


def test_rotate_under_image_key_says_which_keys_may_go(make_app, monkeypatch):
    old, new = new_key(), new_key()
    monkeypatch.setenv("IMAGE_KEY", old)
    app = make_app()
    add_assessments(app, "nobody", 2)
    monkeypatch.setenv("IMAGE_KEY", f"{new},{old}")
    said: list[str] = []
    result = rotate(load_settings(), say=said.append)
    old_id = key_id(parse_image_keys(old, "test")[0])
    assert result.retired == [old_id] and f"key(s) {old_id} any more: IMAGE_KEY may drop them" in said[-1]
    monkeypatch.setenv("IMAGE_KEY", new)
    store = app_state(make_app()).store  # starts without the old key
    assert key_ids_on_disk(store) == {result.key}
    assert_consistent(app)


def test_an_interrupted_rotation_is_finished_under_its_key(app, home, capsys):
    add_assessments(app, "nobody", 1)
    path = home / "image_keys"
    path.write_text(new_key() + "\n" + path.read_text())  # what a rotation killed after its first step leaves
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "finishing the interrupted rotation" in out and "resealed 3 image(s)" in out
    assert len(parse_image_keys(path.read_text(), "test")) == 1


def test_one_rotation_at_a_time(app):
    store = app_state(app).store
    fd = os.open(store.keys_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another `scalpcheck keys rotate` is running"):
            rotate(load_settings(), say=quiet)
    finally:
        os.close(fd)


def test_an_altered_image_is_left_as_it_was_and_named(app):
    made = add_assessments(app, "nobody", 2)
    store = app_state(app).store
    [damaged, *_] = sorted(store.root.glob("*/*/photo.jpg"))
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    said: list[str] = []
    result = rotate(load_settings(), say=said.append)
    assert result.resealed == 3 * len(made) - 1
    assert any(f"{damaged.parent.name}/photo.jpg cannot be opened" in line for line in said)


def test_keys_new_prints_a_key_image_key_accepts(capsys):
    assert main(["keys", "new"]) == 0
    assert len(parse_image_keys(capsys.readouterr().out, "test")) == 1
