"""Calibrated probabilities: the temperature, then the top-probability map where one was fitted."""

from __future__ import annotations

import numpy as np
import pytest

from scalpcheck import bundle, confidence
from scalpcheck.card import Card, CardError, ConfidenceMap
from scalpcheck.learn.calibrate import MAX_CONFIDENCE, MIN_MAP_IMAGES, fit_confidence_map
from scalpcheck.learn.export import untrained_bundle
from scalpcheck.metrics import expected_calibration_error, softmax
from scalpcheck.tasks import SCALP


def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose top class is right 70 % of the time while softmax says about 95 %."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    top = np.where(rng.random(n) < 0.7, y, (y + rng.integers(1, 5, n)) % 5)
    logits = rng.normal(0, 0.5, (n, 5))
    logits[np.arange(n), top] += rng.uniform(2.5, 5, n)
    return logits, y


def test_the_map_keeps_every_answer_and_sums_to_one():
    m = ConfidenceMap(x=(0.2, 0.6, 1.0), y=(0.2, 0.4, 0.7), fitted_on="test")
    proba = softmax(np.random.default_rng(0).normal(0, 2, (200, 4)))
    mapped = confidence.remap(proba, m)
    assert np.allclose(mapped.sum(axis=1), 1) and (mapped >= 0).all()
    assert (mapped.argmax(axis=1) == proba.argmax(axis=1)).all()
    second = np.sort(mapped, axis=1)[:, -2]
    assert (mapped.max(axis=1) >= second - 1e-12).all()
    ratio = np.delete(mapped, proba.argmax(1)[0], axis=1)[0] / np.delete(proba, proba.argmax(1)[0], axis=1)[0]
    assert np.allclose(ratio, ratio[0])  # the others keep their proportions
    one = softmax(np.array([3.0, 1.0, 0.0, 0.0]))
    assert confidence.remap(one, m).shape == (4,)
    assert np.array_equal(confidence.probabilities(one * 0 + 1, 1.0), np.full(4, 0.25))


def test_a_fitted_map_makes_new_answers_mean_what_they_say():
    logits, y = overconfident(2000, seed=1)
    proba = softmax(logits)
    fitted = fit_confidence_map(proba, y, "calibration photos")
    assert fitted is not None and fitted.fitted_on == "calibration photos" and max(fitted.y) <= MAX_CONFIDENCE
    new_logits, new_y = overconfident(2000, seed=2)
    before = expected_calibration_error(new_y, softmax(new_logits))
    after = expected_calibration_error(new_y, confidence.probabilities(new_logits, 1.0, fitted))
    assert before > 0.15 and after < 0.04, (before, after)


def test_too_few_photos_fit_no_map():
    logits, y = overconfident(MIN_MAP_IMAGES - 1, seed=3)
    assert fit_confidence_map(softmax(logits), y, "x") is None


def test_a_card_refuses_a_map_whose_knots_do_not_match(tmp_path):
    card = bundle.read_card(untrained_bundle(tmp_path / "b", SCALP))
    data = card.to_dict()
    data["confidence_map"] = {"x": [0.5, 0.4], "y": [0.3, 0.6], "fitted_on": "x"}
    with pytest.raises(CardError, match="confidence_map"):
        Card.from_dict(data)
    data["confidence_map"] = {"x": [0.4, 0.5], "y": [0.3, 0.6], "fitted_on": "x"}
    assert Card.from_dict(data).confidence_map == ConfidenceMap(x=(0.4, 0.5), y=(0.3, 0.6), fitted_on="x")
