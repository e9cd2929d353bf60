"""What the database and the image store hold, and the check that they agree."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select


@dataclass(frozen=True)
class StoreState:
    rows: int
    files: tuple[str, ...]  # every file under uploads/, relative
    pending: tuple[str, ...]  # entries of uploads/.pending

    def image_keys(self) -> set[str]:
        return {Path(f).parts[1] for f in self.files if not f.startswith(".pending")}


def store_state(app) -> StoreState:
    """What the database and the image store hold now."""
    from scalpcheck.web.extensions import app_state, db
    from scalpcheck.web.models import Assessment

    root = app_state(app).store.root
    files = tuple(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()))
    pending = (
        tuple(sorted(p.name for p in (root / ".pending").iterdir())) if (root / ".pending").is_dir() else ()
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
