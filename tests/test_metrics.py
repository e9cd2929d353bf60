"""Metrics (numpy only) against scikit-learn, calibration, and the interval helpers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from scalpcheck import metrics
from scalpcheck.evaluation import scores
from scalpcheck.learn.calibrate import fit_temperature


def _predictions(n=300, k=5, seed=0, skill=2.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += skill
    return y, metrics.softmax(logits)


def test_every_figure_matches_scikit_learn():
    y, proba = _predictions()
    pred = proba.argmax(1)
    labels = [f"stage_{i}" for i in range(5)]
    m = scores(y, proba, labels, ordinal=True)
    assert m.accuracy == pytest.approx(sk.accuracy_score(y, pred))
    for ours, average in (("precision_macro", "precision"), ("recall_macro", "recall"), ("f1_macro", "f1")):
        theirs = getattr(sk, f"{average}_score")(y, pred, average="macro", zero_division=0)
        assert getattr(m, ours) == pytest.approx(theirs)
    f1 = sk.f1_score(y, pred, average=None)
    assert [m.per_class[label].f1 for label in labels] == pytest.approx(f1)
    assert m.confusion_matrix == sk.confusion_matrix(y, pred).tolist()
    assert m.log_loss == pytest.approx(sk.log_loss(y, proba))
    assert m.qwk == pytest.approx(sk.cohen_kappa_score(y, pred, weights="quadratic"))
    assert m.mae == pytest.approx(sk.mean_absolute_error(y, pred))


def test_macro_scores_skip_classes_absent_from_truth_and_predictions():
    y = np.array([0, 0, 1, 1])
    proba = np.eye(3)[[0, 0, 1, 1]]
    assert scores(y, proba, ["a", "b", "c"]).f1_macro == pytest.approx(1.0)


def test_ece_of_a_known_case():
    # Two bins: confidence 0.9 with 50 % right, confidence 0.6 with 100 % right -> |0.9-0.5|/2 + |0.6-1|/2.
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])
    assert metrics.expected_calibration_error(y, proba) == pytest.approx(0.4)


def test_ece_a_calibrated_model_shows_by_chance():
    certain = np.eye(4)[[0, 1, 2, 3]]
    assert metrics.ece_if_calibrated(certain)["mean"] == 0.0
    # 25 images at 80 %: the accuracy of the bin is a binomial mean; E|mean - 0.8| = 0.064 (normal approx.)
    proba = np.tile([0.8, 0.2], (25, 1))
    chance = metrics.ece_if_calibrated(proba, n_draws=4000)
    assert chance["mean"] == pytest.approx(0.064, abs=0.008)
    assert chance["low"] < chance["mean"] < chance["high"]
    # The same model on 2500 images: chance shrinks with the square root of the count.
    assert metrics.ece_if_calibrated(np.tile([0.8, 0.2], (2500, 1)))["mean"] < chance["mean"] / 5
    # What it estimates: the ECE of outcomes drawn from the stated confidences.
    rng = np.random.default_rng(3)
    drawn = [
        metrics.expected_calibration_error((rng.random(25) >= 0.8).astype(int), proba) for _ in range(4000)
    ]
    assert chance["mean"] == pytest.approx(np.mean(drawn), abs=0.006)


def test_temperature_scaling_repairs_overconfidence():
    y, proba = _predictions(n=2000, k=4, seed=1, skill=1.0)
    logits = np.log(proba) * 4  # the same ranking, far too sure
    t = fit_temperature(logits, y)
    assert t == pytest.approx(4.0, rel=0.15)
    before = metrics.expected_calibration_error(y, metrics.softmax(logits))
    after = metrics.expected_calibration_error(y, metrics.softmax(logits, t))
    assert after < before / 3


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_data():
    widths = []
    for n in (40, 400):
        y, proba = _predictions(n=n, k=4, seed=2)
        point = scores(y, proba, list("abcd"))
        ci = metrics.bootstrap_ci(y, proba, 4, n_boot=500)
        for key in ("accuracy", "f1_macro"):
            assert ci[key][0] <= getattr(point, key) <= ci[key][1]
        widths.append(ci["accuracy"][1] - ci["accuracy"][0])
    assert widths[1] < widths[0]


def test_mean_ci_uses_student_t():
    ci = metrics.mean_ci([0.8, 0.9, 1.0])
    # t(0.975, 2 dof) = 4.303; sd = 0.1; half width = 4.303 * 0.1 / sqrt(3)
    assert ci["mean"] == pytest.approx(0.9)
    assert ci["high"] - ci["mean"] == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-3)


def test_the_evaluator_needs_neither_torch_nor_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from scalpcheck import evaluation; "
        "evaluation.evaluate([0, 1], np.eye(2), ['a', 'b'], groups={'g': ['x', 'y']}, n_boot=5); "
        "assert 'torch' not in sys.modules and 'sklearn' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
