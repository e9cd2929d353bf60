"""`scalpcheck keys rotate` and `scalpcheck keys new`: the keys that encrypt the stored images."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    keys = subparsers.add_parser("keys", help="the keys that encrypt the stored images")
    actions = keys.add_subparsers(dest="keys_action", metavar="ACTION", parser_class=type(keys))
    actions.required = True
    rotate = actions.add_parser(
        "rotate", help="re-encrypt every stored image under a new key, while the app serves"
    )
    rotate.set_defaults(run=run_rotate)
    new = actions.add_parser("new", help="print a new key, for IMAGE_KEY")
    new.set_defaults(run=run_new)


def run_rotate(args: argparse.Namespace) -> int:
    from scalpcheck.settings import load_settings
    from scalpcheck.web.rotation import rotate

    rotate(load_settings())
    return 0


def run_new(args: argparse.Namespace) -> int:
    from scalpcheck.web.crypto import new_key

    print(new_key())
    return 0
