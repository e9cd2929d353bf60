"""`scalpcheck clean DIR [--apply] [--json]`: report what is wrong with a dataset; --apply sets it aside."""

from __future__ import annotations

import json
from pathlib import Path

from scalpcheck.cli import add_command, add_json_flag

HELP = "find broken, poor and duplicate images; --apply quarantines them"
DESCRIPTION = """\
Check every image of a dataset folder (DIR/<label>/* or DIR/{train,val,test}/<label>/*) for: unreadable,
truncated, too small, too blurry, too dark or too bright files; exact and near duplicates (re-encoded,
resized or slightly cropped copies); the same picture under two labels (label_conflict); and the same
picture in two of train/val/test (split_leak). Prints a report and changes nothing, unless --apply is
given: then the offenders are moved to DIR.quarantine/<time>/ (same relative paths) with a log of why.
Nothing is ever deleted. Of each group of duplicates the best copy stays (most pixels, then largest file);
copies under different labels all go, since which label is right cannot be known. Exit status 0 when the
report is made, findings or not; 2 for bad input."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "clean", run, help=HELP, description=DESCRIPTION)
    parser.add_argument("dir", metavar="DIR", type=Path, help="the dataset folder")
    parser.add_argument(
        "--apply", action="store_true", help="move the offenders to DIR.quarantine/<time>/ with a log"
    )
    add_json_flag(parser, "print the report as JSON on stdout")


def run(args) -> int:
    from scalpcheck.data.clean import apply_quarantine, find_problems

    report = find_problems(args.dir)
    folder = apply_quarantine(report) if args.apply else None
    if args.json:
        data = report.to_dict()
        if args.apply:
            data["quarantine"] = str(folder) if folder else None
        print(json.dumps(data, indent=2))
        return 0
    print(report.to_text())
    if folder:
        print(f"\nMoved {len(report.findings)} files to {folder} (log: {folder / 'quarantine.csv'}).")
    elif report.findings and not args.apply:
        print(f"\nNothing was changed. To move these files aside: scalpcheck clean {args.dir} --apply")
    return 0
