"""`scalpcheck restore DIR`: a backup put back into an empty home and database."""

from __future__ import annotations

import argparse
from pathlib import Path

from scalpcheck.cli import add_command


def register(subparsers) -> None:
    parser = add_command(subparsers, "restore", run, help="put a backup back into an empty home and database")
    parser.add_argument("dir", metavar="DIR", type=Path, help="a folder written by `scalpcheck backup`")


def run(args: argparse.Namespace) -> int:
    from scalpcheck.settings import load_settings
    from scalpcheck.web.restore import restore

    restore(load_settings(), args.dir.resolve())
    return 0
