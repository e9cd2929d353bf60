"""The `scalpcheck` command line: one module per command, each registering its own subparser.

Command modules import nothing heavy at module level, so `scalpcheck predict` starts without torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from scalpcheck import __version__
from scalpcheck.errors import UsageError

COMMAND_MODULES = (
    "synth",
    "clean",
    "train",
    "evaluate",
    "predict",
    "serve",
    "doctor",
    "quantize",
    "user",
    "keys",
    "backup",
    "restore",
)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line naming the problem and exit status 2, never a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_command(subparsers, name: str, run, **kwargs) -> argparse.ArgumentParser:
    """The parser of command `name` (`kwargs` go to add_parser); parsing it selects `run`."""
    parser = subparsers.add_parser(name, **kwargs)
    parser.set_defaults(run=run)
    return parser


def add_json_flag(parser: argparse.ArgumentParser, help: str = "print the report as JSON") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="scalpcheck",
        description="Scalp condition and hair-loss stage from photos: data, training, serving.",
    )
    parser.add_argument("--version", action="version", version=f"scalpcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"scalpcheck.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except UsageError as exc:
        print(f"scalpcheck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scalpcheck {args.command}: interrupted", file=sys.stderr)
        return 130
