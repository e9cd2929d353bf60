"""`scalpcheck train`: compare backbones by transfer learning, tune, evaluate, export the best as a bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from scalpcheck.cli import add_command
from scalpcheck.learn import defaults

HELP = "compare backbones, tune, evaluate and export the best model"
DESCRIPTION = """\
Compare backbones by transfer learning (frozen base, tuned head), evaluate on a held-out test split, write a
run folder (SCALPCHECK_HOME/runs/<task>/trainN) and export the best model as a bundle."""


def register(subparsers) -> None:
    p = add_command(subparsers, "train", run, help=HELP, description=DESCRIPTION)
    p.add_argument("--task", required=True, help="scalp, hairloss, or a name for a custom task")
    p.add_argument(
        "--data", required=True, help="dataset folder: DIR/<label>/* or DIR/{train,val,test}/<label>/*"
    )
    p.add_argument(
        "--backbones",
        default=defaults.BACKBONE,
        help=f"comma-separated backbones (default {defaults.BACKBONE}); see `scalpcheck doctor`",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=defaults.TRIALS,
        help=f"Optuna trials per backbone (default {defaults.TRIALS})",
    )
    p.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="add repeated stratified K-fold estimates with confidence intervals (K >= 2)",
    )
    p.add_argument("--color", choices=("rgb", "hsv"), default="rgb", help="colour space of the model input")
    p.add_argument(
        "--input-size",
        type=int,
        default=None,
        metavar="PX",
        help="model input side in pixels (default: the backbone's, 224 for all built-in ones)",
    )
    p.add_argument(
        "--views",
        type=int,
        default=defaults.VIEWS,
        help=f"augmented views per training image of the largest class (default {defaults.VIEWS})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split, augmentation and tuning")
    p.add_argument(
        "--weights",
        action="append",
        metavar="NAME=PATH",
        help="pretrained weights file for a backbone (repeatable)",
    )
    p.add_argument(
        "--allow-random-init",
        action="store_true",
        help="train backbones without reachable weights from random weights (marked in every report)",
    )
    p.add_argument(
        "--fine-tune",
        action="store_true",
        help="after the head converges, also train the chosen backbone's last stage (slow on CPU)",
    )
    p.add_argument(
        "--fine-tune-epochs",
        type=int,
        default=defaults.FINE_TUNE_EPOCHS,
        metavar="N",
        help="at most N fine-tuning epochs (early stopping on the validation loss)",
    )
    p.add_argument(
        "--shift",
        action="store_true",
        help="leave each phantom style (the `style` column of DIR/manifest.csv) out of training in turn and "
        "test on it; the report compares in-style and out-of-style figures, and the temperature and "
        "refusal threshold are fitted on the out-of-style predictions (unless --calibrate-on is given)",
    )
    p.add_argument(
        "--calibrate-on",
        type=Path,
        metavar="DIR",
        help="labelled photos of a source the training data lacks (another camera, clinic or phantom style): "
        "the temperature and the refusal threshold are fitted on them instead of the validation split",
    )
    p.add_argument(
        "--shift-test",
        type=Path,
        metavar="DIR",
        help="labelled photos of a source the model never saw: the exported bundle is evaluated on them "
        "through the serving path, by subgroup, and the card and report carry the figures",
    )
    p.add_argument(
        "--study-storage",
        metavar="URL",
        help="tune in an Optuna study kept in this database (e.g. postgresql+psycopg://...), shared by "
        "every run given the same URL, data and seed",
    )
    p.add_argument("--study-name", metavar="NAME", help="the shared study's name (default scalpcheck-TASK)")
    p.add_argument("--publish", action="store_true", help="install the best bundle as the task's model")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scalpcheck.learn import backbones, weights
    from scalpcheck.learn.train import TrainOptions
    from scalpcheck.learn.train import run as train
    from scalpcheck.settings import load_settings

    options = TrainOptions(
        task=args.task.strip().lower(),
        data=Path(args.data),
        backbones=backbones.parse_list(args.backbones),
        trials=args.trials,
        cv=args.cv,
        color=args.color,
        input_size=args.input_size,
        views=args.views,
        seed=args.seed,
        weights=weights.parse_weight_args(args.weights, backbones.BACKBONES),
        allow_random_init=args.allow_random_init,
        fine_tune=args.fine_tune,
        fine_tune_epochs=args.fine_tune_epochs,
        shift=args.shift,
        calibrate_on=args.calibrate_on,
        shift_test=args.shift_test,
        publish=args.publish,
        progress=not args.quiet,
        study_storage=args.study_storage,
        study_name=args.study_name,
    )
    result = train(options, load_settings())
    figures = result.summary.best_figures
    val, test = figures.val.assessed_scores, figures.test.assessed_scores
    print(f"run folder: {result.run_dir}")
    ordinal = (
        f", test QWK {test.qwk:.3f}, stage MAE {test.mae:.2f}"
        if test.qwk is not None and test.mae is not None
        else ""
    )
    print(
        f"best: {result.best} (validation macro-F1 {val.f1_macro:.3f}; test accuracy "
        f"{test.accuracy:.3f}, macro-F1 {test.f1_macro:.3f}{ordinal}); report: "
        f"{result.run_dir / 'report.md'}"
    )
    print(f"bundle: {result.bundle_dir}")
    if result.published:
        print(f"published: {result.published}")
    return 0
