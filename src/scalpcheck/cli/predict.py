"""`scalpcheck predict IMAGE... --task T [--json] [--bundle DIR]`: assessments on the command line.

The same code path as the web app (scalpcheck.serve.Assessor), so what it prints is what a user would see.
Exit status: 0 when every image was assessed, 1 when any was refused, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from scalpcheck.cli import add_command, add_json_flag

WIDTH = 100
HELP = "assess photos with a published model (the web app's code path)"
DESCRIPTION = """\
Assess photos with the task's published model, as the web app does: quality checks, refusal of photos that are
not scalps, calibrated confidence, alternatives and advice. Exit status 0 when every photo was assessed, 1
when any was refused, 2 for bad arguments."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "predict", run, help=HELP, description=DESCRIPTION)
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="JPEG, PNG or WebP photos")
    parser.add_argument("--task", help="scalp, hairloss, or a custom task with a published model")
    parser.add_argument(
        "--bundle",
        type=Path,
        metavar="DIR",
        help="use this model bundle instead of the published one (e.g. runs/scalp/train1/bundle); "
        "--task may then be left out",
    )
    add_json_flag(parser, 'print a JSON list of {"file", "assessment"|"error"}')


def run(args: argparse.Namespace) -> int:
    from scalpcheck.errors import ImageRejected, UsageError
    from scalpcheck.settings import load_settings

    for path in args.images:
        if not path.is_file():
            raise UsageError(
                f"IMAGE {path}: {'is a folder, not a file' if path.is_dir() else 'no such file'}"
            )
    settings = load_settings()
    assessor, task = _assessor(args, settings)
    results = []
    for path in args.images:
        try:
            results.append({"file": str(path), "assessment": assessor.assess(_read(path, settings), task)})
        except ImageRejected as exc:
            results.append({"file": str(path), "error": exc.to_dict()["error"]})
    if args.json:
        payload = [
            {"file": r["file"], "assessment": r["assessment"].to_dict()} if "assessment" in r else r
            for r in results
        ]
        print(json.dumps(payload, indent=2))
    else:
        print(_text(results))
    return 1 if any("error" in r for r in results) else 0


def _assessor(args, settings):
    """The assessor and task for the arguments; a UsageError naming what to do when there is no model."""
    from scalpcheck.bundle import BundleError
    from scalpcheck.errors import UsageError
    from scalpcheck.serve import Assessor
    from scalpcheck.tasks import TASKS

    if args.bundle is None and not args.task:
        raise UsageError("--task is required (scalp or hairloss), unless --bundle names a model")
    bundle_dir = args.bundle
    if bundle_dir is None:
        bundle_dir = settings.models_dir / args.task
        train = f"`scalpcheck train --task {args.task} --data DIR --publish`"
        if not bundle_dir.exists() and args.task not in TASKS:
            raise UsageError(
                f"--task {args.task}: no such task; choose {' or '.join(TASKS)}, or publish a model for a "
                f"custom task with {train}"
            )
        if not bundle_dir.exists():
            raise UsageError(f"no model is published for task {args.task}: run {train} or `make run`")
    try:
        assessor = Assessor.from_bundle(bundle_dir, settings.max_upload_bytes)
    except BundleError as exc:
        raise UsageError(f"cannot use that model: {exc}") from exc
    (task,) = assessor.models
    if args.task and args.task != task:
        raise UsageError(f"--task {args.task}: {bundle_dir} holds a model for task {task!r}")
    return assessor, task


def _read(path: Path, settings) -> bytes:
    """The file's bytes, at most one past the upload limit: enough for the assessor to refuse it."""
    from scalpcheck.errors import UsageError

    try:
        with open(path, "rb") as f:
            return f.read(settings.max_upload_bytes + 1)
    except OSError as exc:
        raise UsageError(f"IMAGE {path}: cannot be read ({exc.strerror or exc})") from exc


def _text(results: list[dict]) -> str:
    from scalpcheck.serve.advice import percent

    def wrap(text: str, indent: str, first: str | None = None) -> list[str]:
        return textwrap.wrap(text, WIDTH, initial_indent=first or indent, subsequent_indent=indent)

    lines: list[str] = []
    notes: dict[str, None] = {}  # the disclaimer and the phantom note, once at the end (ordered, no repeats)
    for r in results:
        if lines:
            lines.append("")
        if "error" in r:
            error = r["error"]
            lines += wrap(error["message"], "    ", f"{r['file']}: refused ({error['code']}): ")
            continue
        a = r["assessment"]
        lines.append(f"{r['file']}: {a.display_name} ({percent(a.confidence)} confident)")
        if a.alternatives:
            others = ", ".join(f"{alt.display_name} {percent(alt.probability)}" for alt in a.alternatives)
            lines.append(f"  other possibilities: {others}")
        advice = a.advice
        if advice.low_confidence_message:
            lines += wrap(advice.low_confidence_message, "  ")
        lines += wrap(advice.summary, "  ")
        for recommendation in advice.recommendations:
            lines += wrap(recommendation, "    ", "  - ")
        if advice.see_a_dermatologist:
            lines.append("  Seeing a dermatologist is recommended.")
        for note in (advice.synthetic_note, advice.disclaimer):
            if note:
                notes[note] = None
    for note in notes:
        lines += ["", *textwrap.wrap(note, WIDTH)]
    return "\n".join(lines)
