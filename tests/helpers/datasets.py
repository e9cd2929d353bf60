"""Folders that are not datasets, for the commands that read one."""

from __future__ import annotations

import pytest

# (make the folder at a path, the message the reader gives): each is a one-line usage error
BAD_FOLDERS = pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such folder"),
        (lambda p: p.write_text("x") and p, "is a file"),
        (lambda p: p.mkdir() or p, "no label folders"),
        (lambda p: (p / "healthy").mkdir(parents=True) or p, "no images"),
    ],
    ids=["missing", "file", "empty", "no-images"],
)
