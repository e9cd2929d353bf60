"""`scalpcheck evaluate BUNDLE --data DIR [--split S] [--json]`: a bundle's report on a labelled dataset.

The work is scalpcheck.serve.evaluate (the serving path, then the one evaluator); this module parses the
arguments and writes the report as text or JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scalpcheck.cli import add_command, add_json_flag

HELP = "evaluate a model bundle on a labelled dataset, through the serving path"
DESCRIPTION = """\
Run every image of DIR (DIR/<label>/* or DIR/{train,val,test}/<label>/*) through the serving path of BUNDLE
and report accuracy, precision, recall and F1 (macro and per class), the confusion matrix, calibration (ECE),
stage MAE and quadratic weighted kappa for ordinal tasks, with 95 %% bootstrap intervals; refused images are
counted apart, by reason."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "evaluate", run, help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "bundle", type=Path, metavar="BUNDLE", help="a model bundle folder (or models/<task>)"
    )
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="a labelled dataset folder")
    parser.add_argument(
        "--split",
        choices=("train", "val", "test"),
        help="with a pre-split dataset, evaluate only this split (default: every image)",
    )
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from scalpcheck.bundle import BundleError
    from scalpcheck.data.catalog import scan
    from scalpcheck.errors import UsageError
    from scalpcheck.serve import Assessor
    from scalpcheck.serve.evaluate import evaluate_dataset
    from scalpcheck.settings import load_settings

    settings = load_settings()
    try:
        assessor = Assessor.from_bundle(args.bundle, settings.max_upload_bytes)
    except BundleError as exc:
        raise UsageError(f"BUNDLE: {exc}") from exc
    ((task, model),) = assessor.models.items()
    labels = model.task.labels
    catalog = scan(args.data, task)
    unknown = sorted({i.label for i in catalog.items} - set(labels))
    if unknown:
        raise UsageError(
            f"--data {args.data}: label {unknown[0]!r} is not a class of the model ({', '.join(labels)})"
        )
    items = catalog.items
    if args.split:
        if catalog.layout != "presplit":
            raise UsageError(f"--split {args.split}: {args.data} is not split into train/val/test folders")
        items = [i for i in items if i.split == args.split]

    def read(item) -> bytes:
        try:
            with open(item.path, "rb") as f:
                return f.read(settings.max_upload_bytes + 1)
        except OSError as exc:
            raise UsageError(f"--data: {item.path} cannot be read ({exc.strerror or exc})") from exc

    report = evaluate_dataset(assessor, catalog, items, read, args.split, progress=True)
    print(json.dumps(report.to_dict(), indent=2) if args.json else _text(report))
    return 0


def _text(report) -> str:
    from scalpcheck import tables

    card, data, e = report.card, report.data, report.evaluation
    labels = list(card.labels)
    weights = "" if card.backbone.pretrained else ", random init: not pretrained"
    lines = [
        f"Model {card.model_version} ({card.backbone.name}{weights}), task {card.task}",
        f"Data  {data.root} ({data.layout}{', split ' + data.split if data.split else ''}): "
        f"{data.n_images} images",
    ]
    if card.synthetic_data:
        lines.append("Note: the model was trained on synthetic phantom images, not on photos of real scalps.")
    if data.synthetic:
        lines.append("Note: these data are synthetic phantom images, not photos of real scalps.")
    if data.same_as_training:
        lines.append(
            "Warning: this is the dataset the model was trained on; these figures overstate its accuracy."
        )
    refused = ", ".join(f"{code} {n}" for code, n in sorted(e.refused.items())) or "none"
    lines += ["", f"Assessed {e.assessed} of {data.n_images} images; refused: {refused}"]
    m, ci = e.scores, e.intervals
    if m is None or ci is None:
        lines.append("No image was assessed, so there are no metrics.")
        return "\n".join(lines)

    def figure(value: float, interval: tuple[float, float], title: str) -> str:
        return f"  {title:<22}{value:.3f}  (95% CI {interval[0]:.3f} to {interval[1]:.3f})"

    lines += ["", "Metrics over the assessed images (bootstrap intervals over images):"]
    lines += [figure(m.accuracy, ci.accuracy, "accuracy"), figure(m.f1_macro, ci.f1_macro, "macro F1")]
    lines += [
        figure(m.precision_macro, ci.precision_macro, "macro precision"),
        figure(m.recall_macro, ci.recall_macro, "macro recall"),
    ]
    if m.qwk is not None and ci.qwk is not None and m.mae is not None and ci.mae is not None:
        lines += [figure(m.qwk, ci.qwk, "quadratic kappa"), figure(m.mae, ci.mae, "stage MAE")]
    lines += [f"  {'ECE (15 bins)':<22}{m.ece:.3f}", f"  {'log loss':<22}{m.log_loss:.3f}"]
    lines += [f"  {'errors at >= 95 %':<22}{e.confident_errors} of {e.confident_answers} such answers", ""]
    width = max(len(label) for label in labels) + 2
    lines.append(f"  {'class':<{width}}precision  recall     F1  images")
    for label in labels:
        c = m.per_class[label]
        lines.append(f"  {label:<{width}}{c.precision:>9.3f}{c.recall:>8.3f}{c.f1:>7.3f}{c.support:>8d}")
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):"]
    cell = max(6, *(len(label) for label in labels)) + 1
    lines.append(" " * (width + 2) + "".join(f"{label:>{cell}}" for label in labels))
    for label, row in zip(labels, m.confusion_matrix, strict=True):
        lines.append(f"  {label:<{width}}" + "".join(f"{n:>{cell}d}" for n in row))
    for table in e.subgroups.values():
        lines += ["", f"By {table.attribute} (95 % intervals over images):"]
        lines += tables.plain(tables.GROUP_HEADER, tables.group_rows(table))
        lines.append("  " + tables.gap_sentence(table))
    if e.density is not None:
        lines += ["", "Hair density: " + tables.density_sentence(e.density, "assessed images")]
    return "\n".join(lines)
