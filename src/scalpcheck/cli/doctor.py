"""`scalpcheck doctor`: the environment, each backbone's weight source, and an ImageNet sanity check."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check the installation: versions, weight sources, ImageNet sanity check",
        description="Print versions, threads and the home folder, where each backbone's weights would come "
        "from (nothing is downloaded), and the top-5 ImageNet classes the offline EfficientNet-Lite0 weights "
        "give a photo of a cat. Exit status 1 when that check fails.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from scalpcheck.learn.doctor import collect, to_text
    from scalpcheck.settings import load_settings

    report = collect(load_settings())
    print(json.dumps(report, indent=2) if args.json else to_text(report))
    check = report["imagenet_check"]
    return 0 if check and check.get("ok") else 1
