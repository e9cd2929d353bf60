"""`scalpcheck backup DIR`: a consistent copy of the database and the image store, while the app serves."""

from __future__ import annotations

import argparse
from pathlib import Path

from scalpcheck.cli import add_command


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "backup", run, help="copy the database and the stored images to DIR, while the app serves"
    )
    parser.add_argument("dir", metavar="DIR", type=Path, help="a new or empty folder")
    parser.add_argument(
        "--without-keys",
        action="store_true",
        help="leave the image key file out (restoring then needs the key from elsewhere)",
    )


def run(args: argparse.Namespace) -> int:
    from scalpcheck.settings import load_settings
    from scalpcheck.web.backup import backup

    backup(load_settings(), args.dir.resolve(), with_keys=not args.without_keys)
    return 0
