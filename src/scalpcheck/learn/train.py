"""`scalpcheck train`: compare backbones by transfer learning, choose on validation, export the best.

prepare the data (nothing is written until they are known to be usable)
-> per backbone: cached features -> tuned head -> calibration -> figures (compare.fit_backbone)
-> the backbone with the best validation score -> optional fine-tuning
-> out-of-distribution statistics -> bundle -> run folder (report, plots, leaderboard) -> publish
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from scalpcheck import bundle, ood, records
from scalpcheck.card import BackboneInfo, Card, CardMetrics, ShiftTest, ValidationScores
from scalpcheck.data.split import write_split_csv
from scalpcheck.data.transforms import load_rgb
from scalpcheck.errors import UsageError
from scalpcheck.evaluation import DensityScores, ShiftReport
from scalpcheck.learn import defaults, negatives, plots, report
from scalpcheck.learn.backbones import Backbone, FeatureModel, get
from scalpcheck.learn.compare import Candidate, fit_backbone, score
from scalpcheck.learn.dataset import PreparedData, prepare
from scalpcheck.learn.density import fit_measurement
from scalpcheck.learn.export import make_card, write_bundle
from scalpcheck.learn.results import BackboneSummary, RunSummary
from scalpcheck.learn.runs import next_run_dir, write_json, write_rows, write_text, write_yaml
from scalpcheck.learn.shift import Source, check_source, leave_one_style_out, load_source, network_outputs
from scalpcheck.learn.tune import OBJECTIVE, SharedStudy
from scalpcheck.learn.weights import WeightSource, check_user_file, resolve
from scalpcheck.metrics import softmax
from scalpcheck.preprocess import ColorSpace, preprocess
from scalpcheck.settings import Settings

PARITY_IMAGES = 4
FIXED_PARAMS = ("label_smoothing", "patience")  # not tuned: the report states them once


@dataclass
class TrainOptions:
    task: str
    data: Path
    backbones: list[Backbone] = field(default_factory=lambda: [get(defaults.BACKBONE)])
    trials: int = defaults.TRIALS
    cv: int = 0
    color: ColorSpace = "rgb"
    input_size: int | None = None  # None: the backbone's own (timm's pretrained config)
    views: int = defaults.VIEWS
    seed: int = 0
    weights: dict[str, Path] = field(default_factory=dict)
    allow_random_init: bool = False
    fine_tune: bool = False
    fine_tune_epochs: int = defaults.FINE_TUNE_EPOCHS
    # Photos of other sources: where the temperature and the refusal threshold are fitted (calibrate_on),
    # and what the exported bundle is tested on (shift_test). `shift` leaves one style out at a time.
    shift: bool = False
    calibrate_on: Path | None = None
    shift_test: Path | None = None
    publish: bool = False
    progress: bool = True
    # Several machines tuning one study: an Optuna storage URL (e.g. PostgreSQL) and the study's name.
    study_storage: str | None = None
    study_name: str | None = None

    @property
    def shared_study(self) -> SharedStudy | None:
        if not self.study_storage:
            return None
        return SharedStudy(self.study_storage, self.study_name or f"scalpcheck-{self.task}")

    def validate(self) -> None:
        if not self.task:
            raise UsageError("--task: give a task name")
        if self.trials < 1:
            raise UsageError(f"--trials must be at least 1, got {self.trials}")
        if self.cv == 1 or self.cv < 0:
            raise UsageError(f"--cv must be 0 (off) or at least 2 folds, got {self.cv}")
        if self.fine_tune_epochs < 1:
            raise UsageError(f"--fine-tune-epochs must be at least 1, got {self.fine_tune_epochs}")
        if self.views < 0:
            raise UsageError(f"--views must be 0 or more, got {self.views}")
        if self.study_name and not self.study_storage:
            raise UsageError("--study-name goes with --study-storage")
        if self.input_size is not None and not 32 <= self.input_size <= 1024:
            raise UsageError(f"--input-size must be between 32 and 1024 pixels, got {self.input_size}")
        if self.color not in ("rgb", "hsv"):
            raise UsageError(f"--color must be rgb or hsv, got {self.color!r}")

    def to_record(self) -> dict:
        record = asdict(self)
        record["backbones"] = [b.name for b in self.backbones]
        record["data"] = str(Path(self.data).resolve())
        record["weights"] = {k: str(v) for k, v in self.weights.items()}
        for name in ("calibrate_on", "shift_test"):
            record[name] = str(Path(record[name]).resolve()) if record[name] else None
        return record


@dataclass
class TrainResult:
    run_dir: Path
    bundle_dir: Path
    best: str
    summary: RunSummary
    published: Path | None = None

    @property
    def leaderboard(self) -> list[BackboneSummary]:
        return self.summary.leaderboard


def _say(options: TrainOptions, message: str) -> None:
    if options.progress:
        print(message, file=sys.stderr, flush=True)


def run(options: TrainOptions, settings: Settings) -> TrainResult:
    options.validate()
    data = prepare(options.data, options.task, options.seed, options.cv, options.progress)
    weights_dir = settings.cache_dir / "weights"
    sources = {
        b.name: resolve(b, options.weights, weights_dir, options.allow_random_init) for b in options.backbones
    }
    for backbone in options.backbones:
        check_user_file(backbone, sources[backbone.name])
    check_source(options.calibrate_on, "--calibrate-on")
    check_source(options.shift_test, "--shift-test")
    # Everything is known to be usable: only now does anything get written.
    run_dir = next_run_dir(settings.runs_dir, data.catalog.task.name)
    _say(options, f"run folder {run_dir}")
    try:
        return _train_in(run_dir, options, data, sources, settings)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # a failed or interrupted run leaves no half a run folder
        raise


def _train_in(
    run_dir: Path,
    options: TrainOptions,
    data: PreparedData,
    sources: dict[str, WeightSource],
    settings: Settings,
) -> TrainResult:
    started = time.perf_counter()
    task = data.catalog.task
    write_yaml(run_dir / "args.yaml", options.to_record())
    write_split_csv(data.split_items(), data.catalog.root, run_dir / "split.csv")
    candidates = _compare(options, data, sources, settings)
    best = max(candidates, key=lambda c: c.selection_score(task.ordinal))
    shift, out_of_style = None, None
    if options.shift:
        _say(options, "leaving one style out at a time")
        shift, out_of_style = leave_one_style_out(
            best, data, fine_tune=options.fine_tune, epochs=options.fine_tune_epochs, seed=options.seed
        )
    if options.fine_tune:
        from scalpcheck.learn.tail import fine_tune

        fine_tune(best, data, seed=options.seed, epochs=options.fine_tune_epochs, progress=options.progress)
    network = best.feature_model
    calibration = None
    if options.calibrate_on:
        _say(options, f"calibrating on {options.calibrate_on}")
        calibration = load_source(options.calibrate_on, data, network, best.pre, "--calibrate-on")
        score(best, data, calibration=(calibration.logits, calibration.y, _source_name(calibration)))
    elif out_of_style is not None:
        logits, y, _ = out_of_style
        score(best, data, calibration=(logits, y, f"{len(y)} leave-one-style-out predictions"))
    _say(options, f"best: {best.name}; exporting it to ONNX")
    bundle_dir, card, density = _export(
        best, data, run_dir / "bundle", network, calibration, out_of_style, shift
    )
    if options.shift_test:
        _say(options, f"testing the bundle on {options.shift_test}")
        card = _test_on_other_source(bundle_dir, card, options.shift_test, settings)

    board = sorted(candidates, key=lambda c: c.selection_score(task.ordinal), reverse=True)
    summary = RunSummary(
        task=task.name,
        labels=task.labels,
        ordinal=task.ordinal,
        synthetic_data=data.synthetic,
        data=data.summary(),
        selection="validation quadratic weighted kappa" if task.ordinal else "validation macro-F1",
        tuning_objective=OBJECTIVE,
        views=options.views,
        best=best.name,
        bundle=card,
        leaderboard=[_backbone_summary(c) for c in board],
        seconds=time.perf_counter() - started,
        density=density,
    )
    _write_run_files(run_dir, summary, candidates, best, data)
    result = TrainResult(run_dir, bundle_dir, best.name, summary)
    if options.publish:
        result.published = bundle.publish(bundle_dir, settings.models_dir, task.name)
        _say(options, f"published {card.model_version} as {result.published}")
    return result


def _compare(
    options: TrainOptions, data: PreparedData, sources: dict[str, WeightSource], settings: Settings
) -> list[Candidate]:
    """Fit every backbone; only the leader's network stays in memory (a VGG weighs half a gigabyte)."""
    ordinal = data.catalog.task.ordinal
    candidates: list[Candidate] = []
    for backbone in options.backbones:
        _say(options, f"{backbone.name}: weights from {sources[backbone.name].describe()}")
        candidate = fit_backbone(
            backbone,
            sources[backbone.name],
            data,
            color=options.color,
            input_size=options.input_size,
            views=options.views,
            trials=options.trials,
            seed=options.seed,
            cache_dir=settings.cache_dir / "features",
            progress=options.progress,
            stem_maps=options.fine_tune,
            shared=options.shared_study,
        )
        leader = max(candidates, key=lambda c: c.selection_score(ordinal), default=None)
        if leader is None or candidate.selection_score(ordinal) > leader.selection_score(ordinal):
            if leader is not None:
                leader.model = leader.maps = None
        else:
            candidate.model = candidate.maps = None
        candidates.append(candidate)
    return candidates


def _card_metrics(candidate: Candidate) -> CardMetrics:
    f = candidate.scored
    test, val = f.test, f.val.assessed_scores
    return CardMetrics(
        **vars(test.assessed_scores),
        ci95=test.intervals,
        ece_uncalibrated=f.calibration.test_ece_before,
        ece_if_calibrated=test.chance_ece,
        validation=ValidationScores(
            accuracy=val.accuracy, f1_macro=val.f1_macro, log_loss=val.log_loss, ece=val.ece
        ),
        train_val_gap_points=f.overfitting.gap_points,
        cv=f.cv,
        calibrated_on=None if f.calibration.fitted_on == "the validation split" else f.calibration.fitted_on,
    )


def _source_name(source: Source) -> str:
    return f"{len(source.y)} images of {source.root.name}"


def _export(
    best: Candidate,
    data: PreparedData,
    out_dir: Path,
    network: FeatureModel,
    calibration: Source | None,
    out_of_style: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    shift: ShiftReport | None,
) -> tuple[Path, Card, DensityScores | None]:
    """The refusal gate (reference: the training images; threshold: the calibration source's images, else
    the leave-one-style-out scores, else the validation split's; lowered for real non-scalp photos), the
    card, and the bundle."""
    plain = {name: best.gate_features.plain(idx) for name, idx in data.split.items()}
    _, refused, _ = network_outputs(network, negatives.photos(), best.pre)
    heldout, scores = plain["val"], None
    name = f"{len(data.split['val'])} validation images"
    if calibration is not None:
        heldout, name = calibration.embeddings, _source_name(calibration)
    elif out_of_style is not None:
        scores = out_of_style[2]
        name = f"{len(scores)} images, each scored by a leave-one-style-out fold without its style"
    stats, ood_info = ood.fit_gate(
        plain["train"],
        heldout,
        plain["test"],
        negatives=refused,
        heldout_name=name,
        heldout_scores=scores,
        leave_one_out=calibration is None and out_of_style is None,  # held out from the training source
    )
    measured = fit_measurement(best, data, calibration) if data.catalog.task.measures_density else None
    card = make_card(
        task=data.catalog.task,
        pre=best.pre,
        backbone=BackboneInfo(
            name=best.name,
            weights_source=best.source.describe(),
            pretrained=best.source.pretrained,
            fine_tuned=bool(best.fine_tuned and best.fine_tuned.kept),
        ),
        temperature=best.temperature,
        confidence_map=best.confidence_map,
        ood=ood_info,
        metrics=replace(_card_metrics(best), leave_one_style_out=shift),
        data=data.summary(),
        synthetic=data.synthetic,
        density=measured.info if measured else None,
    )
    picks = data.split["test"][:PARITY_IMAGES]
    check = torch.from_numpy(np.stack([preprocess(load_rgb(data.items[i].path), best.pre) for i in picks]))
    arrays = measured.model.to_arrays() if measured else None
    bundle_dir = write_bundle(out_dir, network, card, stats, check, density=arrays)
    return bundle_dir, bundle.read_card(bundle_dir), measured.test if measured else None


def _test_on_other_source(bundle_dir: Path, card: Card, root: Path, settings: Settings) -> Card:
    """The bundle through the serving path on photos of another source; the figures go into its card."""
    from scalpcheck.data.catalog import scan
    from scalpcheck.serve import Assessor
    from scalpcheck.serve.evaluate import evaluate_dataset

    assessor = Assessor.from_bundle(bundle_dir, settings.max_upload_bytes)
    catalog = scan(root, card.task)
    report = evaluate_dataset(assessor, catalog, catalog.items, lambda item: item.path.read_bytes())
    shifted = replace(
        card,
        metrics=replace(
            card.metrics, shift=ShiftTest(source=str(catalog.root), evaluation=report.evaluation)
        ),
    )
    bundle.rewrite_card(bundle_dir, shifted)
    return shifted


def leaderboard_row(rank: int, b: BackboneSummary) -> dict[str, object]:
    """One row of leaderboard.csv: a backbone's tuned parameters and its figures, flat."""
    f = b.figures
    val, test = f.val.assessed_scores, f.test.assessed_scores
    cv = f.cv
    row: dict[str, object] = {
        "rank": rank,
        "backbone": b.backbone,
        "pretrained": b.pretrained,
        "weights": b.weights,
        **{k: v for k, v in asdict(b.params).items() if k not in FIXED_PARAMS},
        "best_epoch": b.best_epoch,
        "val_loss": val.log_loss,
        "val_accuracy": val.accuracy,
        "val_f1_macro": val.f1_macro,
        "test_accuracy": test.accuracy,
        "test_f1_macro": test.f1_macro,
        "val_qwk": val.qwk,
        "test_qwk": test.qwk,
        "test_mae": test.mae,
        "test_ece_before": f.calibration.test_ece_before,
        "test_ece_after": test.ece,
        "temperature": f.calibration.temperature,
        "train_accuracy": f.overfitting.train_accuracy,
        "gap_points": f.overfitting.gap_points,
        "cv_accuracy_mean": cv.accuracy.mean if cv else None,
        "cv_f1_macro_mean": cv.f1_macro.mean if cv else None,
        "cv_qwk_mean": cv.qwk.mean if cv and cv.qwk else None,
        "extract_img_per_s": b.extract_img_per_s,
        "features_cached": b.features_cached,
        "seconds": b.seconds,
    }
    return {k: v for k, v in row.items() if v is not None}


def _backbone_summary(c: Candidate) -> BackboneSummary:
    return BackboneSummary(
        backbone=c.name,
        weights=c.source.describe(),
        pretrained=c.source.pretrained,
        params=c.trained.params,
        best_epoch=c.trained.best_epoch,
        trials=c.trials,
        figures=c.scored,
        extract_img_per_s=c.extract_img_per_s,
        features_cached=c.features_cached,
        seconds=c.seconds,
    )


def _write_run_files(
    run_dir: Path, summary: RunSummary, candidates: list[Candidate], best: Candidate, data: PreparedData
) -> None:
    board = [leaderboard_row(n + 1, b) for n, b in enumerate(summary.leaderboard)]
    write_rows(run_dir / "leaderboard.csv", board)
    write_rows(
        run_dir / "results.csv", [{"backbone": c.name, **r} for c in candidates for r in c.trained.history]
    )
    write_json(run_dir / "metrics.json", records.to_dict(summary))
    plots.confusion_matrix(
        np.asarray(best.scored.test.assessed_scores.confusion_matrix),
        list(data.labels),
        run_dir / "confusion_matrix.png",
        f"{best.name}, test split",
    )
    plots.curves({c.name: c.trained.history for c in candidates}, run_dir / "curves.png")
    plots.calibration(
        data.y[data.split["test"]],
        softmax(best.logits["test"], 1.0),
        best.probabilities(best.logits["test"]),
        best.temperature,
        run_dir / "calibration.png",
    )
    write_text(run_dir / "report.md", report.render(summary))
