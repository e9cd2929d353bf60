"""`scalpcheck doctor`: the environment, each backbone's weight source, and an ImageNet sanity check."""

from __future__ import annotations

import argparse

from scalpcheck.cli import add_command, add_json_flag

HELP = "check the installation: versions, weight sources, ImageNet sanity check"
DESCRIPTION = """\
Print versions, threads and the home folder, where each backbone's weights would come from (nothing is
downloaded), and the top-5 ImageNet classes the offline EfficientNet-Lite0 weights give a photo of a cat.
Exit status 1 when that check fails."""


def register(subparsers) -> None:
    p = add_command(subparsers, "doctor", run, help=HELP, description=DESCRIPTION)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    import json

    from scalpcheck.learn.doctor import collect, to_text
    from scalpcheck.settings import load_settings

    report = collect(load_settings())
    print(json.dumps(report, indent=2) if args.json else to_text(report))
    check = report["imagenet_check"]
    return 0 if check and check.get("ok") else 1
