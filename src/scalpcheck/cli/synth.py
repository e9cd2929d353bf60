"""`scalpcheck synth`: write a phantom dataset (docs/phantoms.md), its contact sheet, or both."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalpcheck.cli import add_command
from scalpcheck.errors import UsageError
from scalpcheck.tasks import TASKS

HELP = "write synthetic scalp phantoms, labelled by construction"
DESCRIPTION = """\
Write synthetic scalp phantoms: close-up scalp photos whose labels are known by construction. They are
not medical images; a model trained on them says so. DIR/<label>/<label>_0000.jpg and so on for every
label of the task, DIR/manifest.csv (one row per image: style, skin tone and its ITA group, hair,
density, lesions, camera) and DIR/phantoms.json (the mark that the data are synthetic). The same
arguments always give byte-identical files, and image i of a label does not depend on --per-class.
DIR must not exist or be empty; it appears complete or not at all.

--style picks how phantoms are drawn and photographed (the clinical cues are the same in all):
studio (an even close-up), trichoscope (magnified, polarised light, round field stop), phone (wide,
tilted, blurred, noisy, compressed), sketch (flat illustrated shapes), or mix (the default: each
image's style drawn at random from those four training styles, all equally often). dermoscope (a
contact dermoscope: hard round field, ring light, scale bar or crosshair, its own hair, skin and
lesion models) is the held-out evaluation style: mix never draws it, so a model trained on mix has
never seen it; measure the shift on it, and never train or tune on it. A comma list (e.g.
studio,phone) draws each image's style from just those styles.

--shots N photographs every scalp N times (1 to 4; default 1): <label>_0000_shot1.jpg is the same
scalp as <label>_0000.jpg, photographed again (framing, light, focus, noise, compression drawn anew), with
the same scalp_id in the manifest. Training keeps the shots of a scalp in one split and measures from them
how much a hair-density reading moves when the photo is simply taken again.

--defects also plants every fault the cleaner looks for (at least two of each: zero-byte, truncated,
non-image, exact and near duplicates, tiny, blurry, nearly black or white, the same picture under two
labels) beside the clean images, listed in DIR/defects.json.

--preview FILE.png writes a labelled contact sheet of the first phantoms of every label (the very images
of the dataset). With --out it is written after the dataset; without --out, only the sheet is written
(--per-class and --defects then do not apply)."""


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "synth",
        run,
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, choices=list(TASKS), help="which assessment's labels to draw")
    p.add_argument("--per-class", type=int, metavar="N", help="phantoms per label (needed with --out)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed, 0 to 2**32-1 (default 0)")
    p.add_argument("--out", type=Path, metavar="DIR", help="the dataset folder to create")
    p.add_argument(
        "--size", type=int, default=256, metavar="PX", help="image side in pixels, 64 to 4096 (default 256)"
    )
    p.add_argument(
        "--defects", action="store_true", help="also plant faults and list them in DIR/defects.json"
    )
    p.add_argument(
        "--shots", type=int, default=1, metavar="N", help="photos of every scalp, 1 to 4 (default 1)"
    )
    p.add_argument("--preview", type=Path, metavar="FILE.png", help="write a labelled contact sheet")
    p.add_argument(
        "--style",
        metavar="NAME[,NAME]",
        help=(
            "studio, trichoscope, phone, sketch, dermoscope (held-out: never in mix) or mix, or a comma "
            "list of them (default: mix, each image's style drawn at random from the training styles)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    from scalpcheck.data.synth import write_dataset, write_preview
    from scalpcheck.data.synth.dataset import check_arguments, check_target
    from scalpcheck.data.synth.preview import check_preview_path
    from scalpcheck.data.synth.styles import DEFAULT_STYLE

    style = DEFAULT_STYLE if args.style is None else args.style

    if args.out is None and args.preview is None:
        raise UsageError("give --out DIR (a dataset), --preview FILE.png (a contact sheet), or both")
    if args.out is None and (args.per_class is not None or args.defects or args.shots != 1):
        raise UsageError("--per-class, --shots and --defects need --out DIR")
    if args.out is not None and args.per_class is None:
        raise UsageError("--per-class N is required with --out")
    # Everything is checked before anything is written: a bad --preview must not leave a dataset behind.
    check_arguments(args.task, args.seed, args.size, args.per_class, style, args.shots)
    if args.out is not None:
        check_target(args.out)
    if args.preview is not None:
        check_preview_path(args.preview)

    if args.out is not None:
        summary = write_dataset(
            args.task,
            args.per_class,
            args.seed,
            args.out,
            size=args.size,
            defects=args.defects,
            progress=True,
            style=style,
            shots=args.shots,
        )
        total = sum(summary["counts"].values())
        print(
            f"wrote {total} phantoms ({len(summary['counts'])} labels x {args.per_class}"
            f"{f' x {args.shots} shots' if args.shots > 1 else ''}, {args.size} px, "
            f"style {style}, seed {args.seed}) to {args.out} in {summary['seconds']:.1f} s"
        )
        if args.defects:
            print(f"planted {sum(summary['faults'].values())} faults of {len(summary['faults'])} kinds, "
                  f"listed in {args.out / 'defects.json'}")  # fmt: skip
    if args.preview is not None:
        sheet = write_preview(args.task, args.seed, args.preview, size=args.size, style=style)
        print(f"contact sheet: {sheet}")
    sys.stdout.flush()
    return 0
