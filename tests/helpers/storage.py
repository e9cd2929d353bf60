"""What the database and the image store hold, and the check that they agree."""

from __future__ import annotations

import collections
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import create_engine, func, select, text


@dataclass(frozen=True)
class StoreState:
    rows: int
    files: tuple[str, ...]  # every image and pending file under uploads/, relative
    pending: tuple[str, ...]  # entries of uploads/.pending

    def image_keys(self) -> set[str]:
        return {Path(f).parts[1] for f in self.files if not f.startswith(".pending")}


def stored_files(root: Path) -> tuple[str, ...]:
    """Every image and pending file under the store's `root`, relative; not the key check files."""
    found = (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return tuple(sorted(f for f in found if not f.startswith(".keys")))


def store_state(app) -> StoreState:
    """What the database and the image store hold now."""
    from scalpcheck.web.extensions import app_state, db
    from scalpcheck.web.models import Assessment

    store = app_state(app).store
    if hasattr(store, "bucket"):  # an S3 store: the same names, from the bucket's listing
        files = tuple(sorted(n for n in store.bucket.names() if not n.startswith(".keys/")))
        pending = tuple(sorted(store.pending_markers()))
    else:
        root = store.root
        files = stored_files(root)
        pending = (
            tuple(sorted(p.name for p in (root / ".pending").iterdir()))
            if (root / ".pending").is_dir()
            else ()
        )
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Assessment))
    return StoreState(rows, files, pending)


def assert_consistent(app) -> StoreState:
    """Every row has its three images and every image its row; nothing is left half-done."""
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import Assessment

    state = store_state(app)
    with app.app_context():
        keys = set(db.session.scalars(select(Assessment.image_key)))
    assert state.pending == (), f"operations left pending: {state.pending}"
    assert state.image_keys() == keys, "images without rows or rows without images"
    per_key = collections.Counter(Path(f).parts[1] for f in state.files)
    assert all(n == 3 for n in per_key.values()), f"incomplete image folders: {per_key}"
    return state


def add_assessments(app, username: str, count: int, seed: int = 0) -> dict[int, dict[str, bytes]]:
    """`count` assessments of `username` (made if need be), stored as an upload stores them, without a model.

    Returns {row id: {"photo": ..., "overlay": ..., "thumbnail": ...}}, the images as the app must serve them.
    """
    from scalpcheck.web.extensions import app_state, db
    from scalpcheck.web.models import User
    from tests.helpers.photos import jpeg_bytes, phantom

    store = app_state(app).store
    made = {}
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            user = User(username=username, password_hash="not a login")
            db.session.add(user)
            db.session.commit()
            user_id = user.id
        for n in range(count):
            picture = phantom(seed=seed + n)
            with store.adding(jpeg_bytes(picture), "image/jpeg", preview=picture, overlay=picture) as key:
                row = assessment_row(user_id, key)
                db.session.add(row)
                db.session.commit()
            made[row.id] = {
                "photo": store.fetch(key, "photo.jpg").data,
                "overlay": store.fetch(key, "overlay.jpg").data,
                "thumbnail": store.fetch(key, "thumbnail.jpg").data,
            }
    return made


def assessment_row(user_id: int, image_key: str):
    """An assessment row (a healthy scalp, test model) of `user_id` whose images are under `image_key`."""
    from scalpcheck.web.models import Assessment

    return Assessment(
        user_id=user_id,
        task="scalp",
        label="healthy",
        display_name="Healthy scalp",
        confidence=0.9,
        probabilities={"healthy": 0.9},
        low_confidence=False,
        alternatives=[],
        advice={},
        model_version="scalp-test",
        model_backbone="efficientnet_lite0",
        synthetic_data=True,
        image_key=image_key,
        image_type="image/jpeg",
    )


def picture(side: int = 300, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def add(store, photo: bytes = b"\xff\xd8photo", media_type: str = "image/jpeg") -> str:
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


def empty_target(tmp_path, monkeypatch, database: str, apps=()) -> object:
    """A fresh home for the restore; on PostgreSQL the test's schema emptied, as a new database is."""
    home = tmp_path / "restored-home"
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SCALPCHECK_HOME", str(home))
    from scalpcheck.web.extensions import db

    if database == "postgresql":
        for app in apps:
            with app.app_context():
                db.engine.dispose()
        engine = create_engine(os.environ["DATABASE_URL"])
        with engine.begin() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    return home


def target_is_empty(home, database: str) -> bool:
    uploads = home / "uploads"
    images = [p for p in uploads.iterdir() if p.name != ".keys"] if uploads.exists() else []
    if database == "sqlite":
        tables = (home / "scalpcheck.db").exists()
    else:
        engine = create_engine(os.environ["DATABASE_URL"])
        with engine.connect() as conn:
            tables = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"))
        engine.dispose()
    return not images and not tables


def delete_one(app):
    from scalpcheck.web.extensions import app_state, db
    from scalpcheck.web.models import Assessment

    store = app_state(app).store
    with app.app_context():
        row = db.session.scalars(select(Assessment).order_by(Assessment.id)).first()
        with store.removing([row.image_key]):
            db.session.delete(row)
            db.session.commit()
        return row.image_key
