"""`scalpcheck evaluate BUNDLE --data DIR [--split S] [--json]`: a bundle's report on a labelled dataset.

Every image goes through the serving path (scalpcheck.serve.Assessor): the quality gate and the refusal of
photos that are not scalps included, so the figures are those users would get. Refused images are
counted apart, by reason; the metrics (scalpcheck.learn.metrics) are over the images the model assessed.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a model bundle on a labelled dataset, through the serving path",
        description=(
            "Run every image of DIR (DIR/<label>/* or DIR/{train,val,test}/<label>/*) through the "
            "serving path of BUNDLE and report accuracy, precision, recall and F1 (macro and per class), "
            "the confusion matrix, calibration (ECE), stage MAE and quadratic weighted kappa for ordinal "
            "tasks, with 95 %% bootstrap intervals; refused images are counted apart, by reason."
        ),
    )
    parser.add_argument(
        "bundle", type=Path, metavar="BUNDLE", help="a model bundle folder (or models/<task>)"
    )
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="a labelled dataset folder")
    parser.add_argument(
        "--split",
        choices=("train", "val", "test"),
        help="with a pre-split dataset, evaluate only this split (default: every image)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from scalpcheck.bundle import BundleError, read_card
    from scalpcheck.data.catalog import fingerprint, scan
    from scalpcheck.errors import ImageRejected, UsageError
    from scalpcheck.learn import metrics
    from scalpcheck.serve import Assessor
    from scalpcheck.settings import load_settings

    settings = load_settings()
    try:
        assessor = Assessor.from_bundle(args.bundle, settings.max_upload_bytes)
    except BundleError as exc:
        raise UsageError(f"BUNDLE: {exc}") from exc
    card = read_card(args.bundle)
    task = card["task"]
    labels = [c["label"] for c in card["classes"]]
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

    y_true, proba = [], []
    refused: dict[str, Counter] = {}  # label -> refusal code -> images
    for item in tqdm(items, desc="evaluating", unit="img", disable=None):
        try:
            with open(item.path, "rb") as f:
                data = f.read(settings.max_upload_bytes + 1)
        except OSError as exc:
            raise UsageError(f"--data: {item.path} cannot be read ({exc.strerror or exc})") from exc
        try:
            result = assessor.assess(data, task)
        except ImageRejected as exc:
            refused.setdefault(item.label, Counter())[exc.code] += 1
            continue
        y_true.append(labels.index(item.label))
        proba.append([result.probabilities[label] for label in labels])

    report = {
        "bundle": str(args.bundle.resolve()),
        "model": {
            "task": task,
            "version": card["model_version"],
            "backbone": card["backbone"]["name"],
            "pretrained": card["backbone"].get("pretrained"),
            "synthetic_data": bool(card["synthetic_data"]),
        },
        "data": {
            "root": str(catalog.root),
            "layout": catalog.layout,
            "split": args.split,
            "n_images": len(items),
            "synthetic": catalog.synthetic,
            "same_as_training": fingerprint(catalog) == card["data"].get("fingerprint"),
        },
        "assessed": len(y_true),
        "refused": dict(sum(refused.values(), Counter())),
        "refused_by_label": {label: dict(codes) for label, codes in refused.items()},
        "metrics": None,
        "intervals": None,
    }
    if y_true:
        report["metrics"] = metrics.evaluate(y_true, proba, labels, ordinal=bool(card["ordinal"]))
        report["intervals"] = metrics.bootstrap_ci(y_true, proba, len(labels), ordinal=bool(card["ordinal"]))
    print(json.dumps(report, indent=2) if args.json else _text(report, labels))
    return 0


def _text(report: dict, labels: list[str]) -> str:
    model, data = report["model"], report["data"]
    weights = "" if model["pretrained"] is not False else ", random init: not pretrained"
    lines = [
        f"Model {model['version']} ({model['backbone']}{weights}), task {model['task']}",
        f"Data  {data['root']} ({data['layout']}{', split ' + data['split'] if data['split'] else ''}): "
        f"{data['n_images']} images",
    ]
    if model["synthetic_data"]:
        lines.append("Note: the model was trained on synthetic phantom images, not on photos of real scalps.")
    if data["synthetic"]:
        lines.append("Note: these data are synthetic phantom images, not photos of real scalps.")
    if data["same_as_training"]:
        lines.append(
            "Warning: this is the dataset the model was trained on; these figures overstate its accuracy."
        )
    refused = ", ".join(f"{code} {n}" for code, n in sorted(report["refused"].items())) or "none"
    lines += ["", f"Assessed {report['assessed']} of {data['n_images']} images; refused: {refused}"]
    m, ci = report["metrics"], report["intervals"]
    if m is None:
        lines.append("No image was assessed, so there are no metrics.")
        return "\n".join(lines)

    def figure(name: str, title: str) -> str:
        low, high = ci[name]
        return f"  {title:<22}{m[name]:.3f}  (95% CI {low:.3f} to {high:.3f})"

    lines += ["", "Metrics over the assessed images (bootstrap intervals over images):"]
    lines += [figure("accuracy", "accuracy"), figure("f1_macro", "macro F1")]
    lines += [figure("precision_macro", "macro precision"), figure("recall_macro", "macro recall")]
    if "qwk" in m:
        lines += [figure("qwk", "quadratic kappa"), figure("mae", "stage MAE")]
    lines += [f"  {'ECE (15 bins)':<22}{m['ece']:.3f}", f"  {'log loss':<22}{m['log_loss']:.3f}", ""]
    width = max(len(label) for label in labels) + 2
    lines.append(f"  {'class':<{width}}precision  recall     F1  images")
    for label in labels:
        c = m["per_class"][label]
        lines.append(
            f"  {label:<{width}}{c['precision']:>9.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}{c['support']:>8d}"
        )
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):"]
    cell = max(6, *(len(label) for label in labels)) + 1
    lines.append(" " * (width + 2) + "".join(f"{label:>{cell}}" for label in labels))
    for label, row in zip(labels, m["confusion_matrix"], strict=True):
        lines.append(f"  {label:<{width}}" + "".join(f"{n:>{cell}d}" for n in row))
    return "\n".join(lines)
