"""Backups under faults: a backup of a damaged store fails and writes nothing, a backup killed midway leaves
no manifest and is refused by restore, and a backup that lies about where its files go restores nothing. The
live store is never changed by any of it."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from scalpcheck.cli import main
from scalpcheck.web import backup as backups
from scalpcheck.web.extensions import app_state
from tests.helpers.photos import jpeg_bytes, phantom
from tests.helpers.storage import add_assessments, assert_consistent, store_state

pytestmark = pytest.mark.hardening

ASSESSMENTS = 4


def first_folder(app):
    return next(p for p in sorted(app_state(app).store.root.glob("*/*")) if p.parent.name != ".keys")


def flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


DAMAGE = {
    "an assessment's image folder is missing": lambda folder: shutil.rmtree(folder),
    "a photo has an altered byte": lambda folder: flip_byte(folder / "photo.jpg"),
    "a thumbnail is missing": lambda folder: (folder / "thumbnail.jpg").unlink(),
    "an overlay is truncated": lambda folder: (folder / "overlay.jpg").write_bytes(
        (folder / "overlay.jpg").read_bytes()[:100]
    ),
    "a photo is not encrypted": lambda folder: (folder / "photo.jpg").write_bytes(
        jpeg_bytes(phantom(seed=1))
    ),
    "a photo is another assessment's": lambda folder: shutil.copy(
        next(p for p in folder.parent.parent.glob("*/*/photo.jpg") if p.parent != folder),
        folder / "photo.jpg",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_backup_of_a_damaged_store_fails_and_writes_nothing(damage, app, tmp_path, capsys, tally):
    add_assessments(app, "alice", ASSESSMENTS)
    DAMAGE[damage](first_folder(app))
    before = store_state(app)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 2
    error = capsys.readouterr().err
    assert "the image store is damaged" in error and "nothing was backed up" in error, error
    assert error.count("\n") == 1
    assert not out.exists()  # no backup that would restore broken
    assert store_state(app) == before  # the backup changed nothing in the store
    tally.tried("fault", f"backup of a damaged store: {damage}")
    tally.checked_storage()


# The backup in a process of its own, which stops before its file write number argv[1] (0: before the
# manifest) and tells the test by creating the file argv[2]; there the test kills it.
BACKUP = """
import sys, time
from pathlib import Path
from scalpcheck.cli import main
from scalpcheck.web import backup

stop_at, marker = int(sys.argv[1]), Path(sys.argv[2])
writes = 0

def pause():
    marker.touch()
    time.sleep(600)

def counted(real):
    def write(*args, **kwargs):
        global writes
        writes += 1
        if writes == stop_at:
            pause()
        return real(*args, **kwargs)
    return write

def before_manifest(real):
    def write(*args, **kwargs):
        pause()
        return real(*args, **kwargs)
    return write

if stop_at:
    backup.write_file = counted(backup.write_file)
else:
    backup._write_manifest = before_manifest(backup._write_manifest)
sys.exit(main(["backup", sys.argv[3]]))
"""
KILL_BEFORE = {
    "the first image is copied": 1,
    "half the images are copied": 3 * ASSESSMENTS // 2,
    "the manifest is written": 0,
}


@pytest.mark.parametrize("step", KILL_BEFORE)
def test_a_backup_killed_midway_is_refused_by_restore(
    step, database, app, make_app, tmp_path, monkeypatch, capsys, tally
):
    add_assessments(app, "alice", ASSESSMENTS)
    out, marker = tmp_path / "backup", tmp_path / "stopped"
    process = subprocess.Popen(
        [sys.executable, "-c", BACKUP, str(KILL_BEFORE[step]), str(marker), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the backup ended before its step: {process.stdout.read()}")
        assert time.monotonic() < deadline, "the backup never reached its step"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    assert not (out / "manifest.json").exists()
    assert_consistent(app)  # the live store is whole

    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.setenv("SCALPCHECK_HOME", str(target))
    capsys.readouterr()
    assert main(["restore", str(out)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err
    assert not any(target.iterdir())
    tally.tried("fault", f"backup killed before {step}")
    tally.checked_storage()


@pytest.mark.parametrize("where", ["beside the backup", "by absolute path", "in a folder of no assessment"])
def test_a_manifest_naming_files_outside_their_place_restores_nothing(
    where, app, tmp_path, monkeypatch, capsys, tally
):
    add_assessments(app, "alice", 1)
    out = tmp_path / "backup"
    assert main(["backup", str(out)]) == 0
    name = {
        "beside the backup": "../outside.jpg",
        "by absolute path": str(tmp_path / "outside.jpg"),
        "in a folder of no assessment": "images/xx/elsewhere/photo.jpg",
    }[where]
    planted = out / name  # there, with its right checksum: only the check of where it goes refuses it
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"planted")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(b"planted").hexdigest(), "size": 7}
    manifest["checksum"] = backups.manifest_checksum(manifest)  # a manifest forged whole
    (out / "manifest.json").write_text(json.dumps(manifest))
    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.setenv("SCALPCHECK_HOME", str(target))
    capsys.readouterr()
    assert main(["restore", str(out)]) == 2
    assert "scalpcheck restore: error: " in capsys.readouterr().err
    assert not any(target.iterdir())
    tally.tried("bad_input", f"a backup manifest naming a file {where}")
