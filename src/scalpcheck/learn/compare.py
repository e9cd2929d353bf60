"""One backbone's part of the comparison: cached features, a tuned head, calibration and honest figures.

Figures come from the plain (un-augmented) view of each image, exactly as serving preprocesses it:
training accuracy on the training images (for the overfitting gap), validation figures (for choosing the
backbone and fitting the temperature), test figures with bootstrap intervals (reported, never used to
choose), and optionally repeated stratified K-fold over train+val with Student-t intervals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from torch import nn

from scalpcheck import confidence, metrics, records
from scalpcheck.card import ConfidenceMap
from scalpcheck.evaluation import CrossValidation, evaluate, mean_interval
from scalpcheck.learn.backbones import Backbone, FeatureModel
from scalpcheck.learn.calibrate import fit_confidence_map, fit_temperature
from scalpcheck.learn.dataset import CV_REPEATS, PreparedData
from scalpcheck.learn.features import Features, cache_key, cached_extract, extract, view_plan
from scalpcheck.learn.head import TrainedHead, predict_logits, train_head
from scalpcheck.learn.results import Calibration, Figures, FineTuning, Overfitting
from scalpcheck.learn.tune import SharedStudy, tune_head
from scalpcheck.learn.weights import WeightSource, create_model
from scalpcheck.preprocess import ColorSpace, Preprocess


@dataclass
class Candidate:
    backbone: Backbone
    source: WeightSource
    pre: Preprocess
    model: nn.Module | None  # the backbone base, frozen; None once another backbone leads
    features: Features
    features_cached: bool
    trained: TrainedHead
    trials: list[dict]
    maps: Features | None = None  # the stem's cached maps, when fine-tuning follows (learn.tail)
    # After fine-tuning: the backbone, its tail as ImageNet trained it and the untuned features, for the gate
    reference: tuple[Backbone, nn.Module, Features] | None = None
    temperature: float = 1.0
    confidence_map: ConfidenceMap | None = None
    logits: dict[str, np.ndarray] = field(default_factory=dict)  # split -> plain-view logits
    figures: Figures | None = None
    cv: CrossValidation | None = None  # of the frozen backbone
    fine_tuned: FineTuning | None = None
    seconds: float = 0.0

    def __post_init__(self):
        # The speed of the frozen backbone's extraction (from the cache: of the run that filled it).
        self.extract_img_per_s = self.features.images_per_second

    @property
    def name(self) -> str:
        return self.backbone.name

    @property
    def network(self) -> nn.Module:
        """The frozen backbone base; only the leading backbone keeps it (a VGG weighs half a gigabyte)."""
        if self.model is None:
            raise RuntimeError(f"{self.name}'s network was released when another backbone led")
        return self.model

    @property
    def feature_model(self) -> FeatureModel:
        """The network the bundle ships: backbone and head, and the untuned tail when fine-tuned."""
        reference = (self.reference[0], self.reference[1]) if self.reference else None
        return FeatureModel(self.network, self.trained.head, reference)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, as the exported bundle will give them."""
        return confidence.probabilities(logits, self.temperature, self.confidence_map)

    @property
    def gate_features(self) -> Features:
        """What the refusal of non-scalp photos scores: the untuned features when fine-tuned."""
        return self.reference[2] if self.reference else self.features

    @property
    def scored(self) -> Figures:
        if self.figures is None:
            raise RuntimeError(f"{self.name} has not been evaluated")
        return self.figures

    def selection_score(self, ordinal: bool) -> tuple[float, float]:
        """Higher is better: validation QWK (ordinal) or macro-F1, then lower validation loss."""
        val = self.scored.val.assessed_scores
        primary = val.qwk if ordinal else val.f1_macro
        return (primary if primary is not None else float("-inf"), -val.log_loss)


def training_rows(
    data: PreparedData, features: Features, fit_items: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """What the head trains on for the given items (Features.training_views), with their labels."""
    x, item = features.training_views(fit_items)
    return x, data.y[item]


def score(
    candidate: Candidate, data: PreparedData, calibration: tuple[np.ndarray, np.ndarray, str] | None = None
) -> None:
    """Logits of the plain view of every split, the temperature, and the figures of the reports.

    The temperature is fitted on the validation split, or on `calibration` (logits, labels and a name of
    photos from another source) when given.
    """
    task = data.catalog.task
    head = candidate.trained.head
    for name, idx in data.split.items():
        candidate.logits[name] = predict_logits(head, candidate.features.plain(idx))
    y = {name: data.y[idx] for name, idx in data.split.items()}
    if calibration is None:
        logits, labels, fitted_on = candidate.logits["val"], y["val"], "the validation split"
    else:
        logits, labels, fitted_on = calibration
    t = fit_temperature(logits, labels)
    candidate.temperature = t
    candidate.confidence_map = fit_confidence_map(metrics.softmax(logits, t), labels, fitted_on)

    def evaluated(name: str, calibrated: bool, n_boot: int = 0, groups: bool = False):
        logits = candidate.logits[name]
        proba = candidate.probabilities(logits) if calibrated else metrics.softmax(logits)
        by = data.groups(data.split[name]) if groups else None
        return evaluate(y[name], proba, task.labels, ordinal=task.ordinal, n_boot=n_boot, groups=by)

    val, test = evaluated("val", True), evaluated("test", True, n_boot=2000, groups=True)
    val_raw, test_raw = evaluated("val", False).assessed_scores, evaluated("test", False).assessed_scores
    train_accuracy = evaluated("train", False).assessed_scores.accuracy
    candidate.figures = Figures(
        val=val,
        test=test,
        calibration=Calibration(
            temperature=t,
            fitted_on=fitted_on,
            val_ece_before=val_raw.ece,
            test_ece_before=test_raw.ece,
            test_log_loss_before=test_raw.log_loss,
        ),
        overfitting=Overfitting(
            train_accuracy=train_accuracy,
            val_accuracy=val.assessed_scores.accuracy,
            gap_points=100 * (train_accuracy - val.assessed_scores.accuracy),
        ),
        cv=candidate.cv,
        fine_tuned=candidate.fine_tuned,
    )


def cross_validate(candidate: Candidate, data: PreparedData, seed: int) -> CrossValidation:
    """Repeated stratified K-fold over train+val with the tuned hyper-parameters.

    Each fold trains for the tuned number of epochs (no early stopping: the held-out fold must not
    steer training) and is scored on the plain views of its held-out images.
    """
    task = data.catalog.task
    per_fold: dict[str, list[float]] = {}
    for n, (fit_items, held_out) in enumerate(data.folds):
        x, y = training_rows(data, candidate.features, fit_items)
        trained = train_head(
            x,
            y,
            None,
            None,
            len(data.labels),
            candidate.trained.params,
            seed=seed + n,
            epochs=candidate.trained.best_epoch,
        )
        proba = metrics.softmax(predict_logits(trained.head, candidate.features.plain(held_out)))
        fold = evaluate(data.y[held_out], proba, task.labels, ordinal=task.ordinal, n_boot=0).assessed_scores
        for key in ("accuracy", "f1_macro", *(("qwk", "mae") if task.ordinal else ())):
            per_fold.setdefault(key, []).append(getattr(fold, key))
    return CrossValidation(
        k=data.cv_k,
        repeats=CV_REPEATS,
        folds=len(data.folds),
        **{key: mean_interval(values) for key, values in per_fold.items()},
    )


def fit_backbone(
    backbone: Backbone,
    source: WeightSource,
    data: PreparedData,
    *,
    color: ColorSpace,
    input_size: int | None,
    views: int,
    trials: int,
    seed: int,
    cache_dir: Path,
    progress: bool,
    stem_maps: bool = False,
    shared: SharedStudy | None = None,
) -> Candidate:
    """Extract (or read cached) features, tune the head on validation loss, calibrate and score.

    With `stem_maps` (fine-tuning will follow), the stem's maps are what is extracted and cached, and the
    embeddings come from the frozen tail run on them: every view is prepared once for both steps.
    """
    started = time.perf_counter()
    pre = backbone.preprocess(color)
    if input_size:
        pre = replace(pre, input_size=input_size)
    model = create_model(backbone, source, seed)
    # Validation images need augmented views only when cross-validation trains on them.
    augment = data.split["train"] + (data.split["val"] if data.folds else [])
    plan = view_plan(data.items, augment, views)
    key = cache_key(
        data=data.fingerprint,
        backbone=backbone.name,
        weights=source.identity(),
        preprocess=records.to_dict(pre),
        views=views,
        augmented=sorted(data.catalog.relative(data.items[i]) for i in augment),
        seed=seed,
    )
    maps = None
    if stem_maps:
        from scalpcheck.learn import tail

        maps, cached = tail.stem_maps(backbone, model, pre, data, plan, key, cache_dir, seed, progress)
        features = tail.pooled(backbone.split(model)[1], maps)
    else:
        features, cached = cached_extract(
            cache_dir,
            key,
            backbone.name,
            lambda: extract(model, data.items, pre, plan, seed, progress, desc=f"{backbone.name} features"),
        )
    x_train, y_train = training_rows(data, features, data.split["train"])
    x_val, y_val = features.plain(data.split["val"]), data.y[data.split["val"]]
    trained, trial_rows = tune_head(
        x_train,
        y_train,
        x_val,
        y_val,
        len(data.labels),
        trials,
        seed,
        progress,
        desc=f"{backbone.name} tuning",
        shared=shared.for_backbone(backbone.name) if shared else None,
    )
    candidate = Candidate(backbone, source, pre, model, features, cached, trained, trial_rows, maps=maps)
    if data.folds:
        candidate.cv = cross_validate(candidate, data, seed)
    score(candidate, data)
    candidate.seconds = time.perf_counter() - started
    return candidate
