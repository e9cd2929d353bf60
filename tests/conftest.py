"""Fixtures every test shares: its own home folder (and so its own SQLite database and image store)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh SCALPCHECK_HOME per test; nothing a test writes leaks into ./var or another test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("SCALPCHECK_HOME", str(path))
    for name in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY", "MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    return path
