"""`scalpcheck quantize RUN [--out DIR] [--publish] [--json]`: an INT8 copy of a run's model, if as accurate.

See scalpcheck.learn.quantize. Exit status 0 when the INT8 bundle was written, 1 when it lost more than a
point of test accuracy (nothing is written), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scalpcheck.cli import add_command, add_json_flag

HELP = "make a faster INT8 copy of a training run's model, kept only if it is as accurate"
DESCRIPTION = """\
Quantise the backbone of RUN's bundle to INT8 with ONNX Runtime (calibrated on the run's training photos),
compare it with the float model on the run's test split, and write it only if it loses at most one point of
accuracy."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "quantize", run, help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "run_dir", type=Path, metavar="RUN", help="a training run folder (runs/<task>/trainN)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the INT8 bundle (RUN/bundle-int8)"
    )
    parser.add_argument("--publish", action="store_true", help="install the INT8 bundle as the task's model")
    add_json_flag(parser, "print the comparison as JSON")


def run(args: argparse.Namespace) -> int:
    from scalpcheck import bundle
    from scalpcheck.errors import UsageError
    from scalpcheck.learn.quantize import MAX_ACCURACY_DROP, quantize_run
    from scalpcheck.settings import load_settings

    if not args.run_dir.is_dir():
        raise UsageError(f"RUN {args.run_dir}: no such folder")
    result = quantize_run(args.run_dir, args.out or args.run_dir / "bundle-int8")
    published = None
    if args.publish and result.bundle_dir is not None:
        task = bundle.read_card(result.bundle_dir).task
        published = bundle.publish(result.bundle_dir, load_settings().models_dir, task)
    if args.json:
        print(
            json.dumps(
                {
                    "fp32_test_accuracy": result.fp32_test.accuracy,
                    "int8_test_accuracy": result.int8_test.accuracy,
                    "test_images": result.fp32_test.n,
                    "top1_agreement": result.top1_agreement,
                    "kept": result.kept,
                    "bundle": str(result.bundle_dir) if result.bundle_dir else None,
                    "published": str(published) if published else None,
                },
                indent=2,
            )
        )
    else:
        fp32, int8 = result.fp32_test.accuracy, result.int8_test.accuracy
        print(
            f"test accuracy: FP32 {fp32:.1%}, INT8 {int8:.1%} ({result.fp32_test.n} photos); "
            f"the same top class for {result.top1_agreement:.0%} of them"
        )
        if result.kept:
            print(
                f"INT8 bundle written to {result.bundle_dir}"
                + (f", published as {published}" if published else "")
            )
        else:
            limit = MAX_ACCURACY_DROP * 100
            print(f"not kept: INT8 loses more than {limit:g} point of test accuracy; nothing written")
    return 0 if result.kept else 1
