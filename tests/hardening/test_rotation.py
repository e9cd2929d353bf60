"""Key rotation under faults: `scalpcheck keys rotate` killed at every kind of step, and run while the app
serves, uploads and deletes. Nothing is lost: every image opens throughout, and a rerun finishes the job.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from scalpcheck.settings import load_settings, parse_image_keys
from scalpcheck.web import crypto
from scalpcheck.web.extensions import app_state
from scalpcheck.web.storage import image_files
from tests.helpers.storage import add_assessments, assert_consistent
from tests.helpers.web import AuthActions

pytestmark = pytest.mark.hardening

ASSESSMENTS = 6
# The rotation's writes, in order, each an os.replace or os.unlink: the new key into the key file, its check
# file, each image resealed (3 per assessment), the old key's check file removed, the key file rewritten.
STEPS = 3 * ASSESSMENTS + 4
KILL_BEFORE = {
    "the new key is kept": 1,
    "its check file is written": 2,
    "the first image is resealed": 3,
    "half the images are resealed": 3 + 3 * ASSESSMENTS // 2,
    "the last image is resealed": STEPS - 2,
    "the old key's check file goes": STEPS - 1,
    "the old key leaves the key file": STEPS,
}
# The rotation in a process of its own, which stops before its write number argv[1] (0: never): it tells
# the test by creating the file argv[2], then sleeps argv[3] seconds (there to be killed) and goes on.
ROTATE = """
import os, sys, time
from pathlib import Path
from scalpcheck.cli import main

stop_at, marker, pause = int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
steps = 0

def counted(real):
    def write(*args, **kwargs):
        global steps
        steps += 1
        if steps == stop_at:
            marker.touch()
            time.sleep(pause)
        return real(*args, **kwargs)
    return write

os.replace, os.unlink = counted(os.replace), counted(os.unlink)
sys.exit(main(["keys", "rotate"]))
"""


def start_rotation(tmp_path, stop_at: int = 0, pause: float = 600) -> tuple[subprocess.Popen, object]:
    marker = tmp_path / f"stopped-{stop_at}"
    process = subprocess.Popen(
        [sys.executable, "-c", ROTATE, str(stop_at), str(marker), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, marker


def wait_for(process: subprocess.Popen, marker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the rotation ended before its step: {process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the rotation never reached its step")
        time.sleep(0.01)


def rotate_to_the_end(tmp_path) -> str:
    process, _ = start_rotation(tmp_path)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    return out


def assert_all_readable(client, made: dict[int, dict[str, bytes]]) -> int:
    reads = 0
    for row_id, images in made.items():
        for path, kind in (("image", "photo"), ("heatmap", "overlay"), ("thumbnail", "thumbnail")):
            response = client.get(f"/assessments/{row_id}/{path}")
            assert response.status_code == 200 and response.data == images[kind], (row_id, kind)
            reads += 1
    return reads


def assert_rotated(app) -> None:
    """One key left, every image sealed under it, no temporary file, every row with its three images."""
    store = app_state(app).store
    [current] = parse_image_keys(load_settings().image_keys_file.read_text(), "test")
    kid = crypto.key_id(current)
    assert sorted(p.name for p in store.keys_dir.iterdir()) == [kid]
    assert {crypto.sealed_key_id(p.read_bytes()) for p in image_files(store.root)} == {kid}
    assert not [p for p in store.root.rglob("*.tmp")]
    assert_consistent(app)


@pytest.fixture
def alice(app, client):
    AuthActions(client).signup()
    return client


@pytest.mark.parametrize("step", KILL_BEFORE)
def test_a_rotation_killed_at_any_step_loses_nothing_and_a_rerun_finishes_it(
    step, app, alice, make_app, tmp_path, tally
):
    made = add_assessments(app, "alice", ASSESSMENTS)
    process, marker = start_rotation(tmp_path, KILL_BEFORE[step])
    wait_for(process, marker)
    process.send_signal(signal.SIGKILL)
    process.wait()
    tally.tried("fault", f"key rotation killed before {step}")
    assert_all_readable(alice, made)  # the app that started before the rotation, serving on
    fresh = app_state(make_app()).store  # a worker starting now passes the key check, and reads all
    assert all(fresh.read(path) for path in image_files(fresh.root))
    rotate_to_the_end(tmp_path)
    assert_rotated(app)
    assert_all_readable(alice, made)
    tally.checked_storage()


def test_the_app_serves_uploads_and_deletes_while_a_rotation_runs(app, alice, tmp_path, tally):
    made = add_assessments(app, "alice", ASSESSMENTS)
    process, marker = start_rotation(tmp_path, stop_at=3 + 3 * ASSESSMENTS // 2, pause=1.5)
    wait_for(process, marker)  # half resealed; the rotation goes on in a moment
    while process.poll() is None:
        assert_all_readable(alice, made)
        made.update(add_assessments(app, "alice", 1, seed=100 + len(made)))
        gone = min(made)
        assert alice.post(f"/assessments/{gone}/delete").status_code in (302, 303)
        del made[gone]
        time.sleep(0.05)
    out, _ = process.communicate()
    assert process.returncode == 0, out
    tally.tried("fault", "key rotation while the app reads, uploads and deletes")
    assert_rotated(app)
    assert_all_readable(alice, made)
    tally.checked_storage()
