"""The density measurement's arithmetic: the ridge fit, the conformal interval, the smallest detectable
change and the re-shoot pairs (the trained measurement is checked in the training and demo tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalpcheck import density


def test_the_ridge_regression_reads_a_linear_density_and_clips_it():
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 1, 40)
    x = rng.normal(0, 1, (300, 40))
    y = np.clip(0.5 + 0.05 * (x @ weights), 0, 1)
    model, mae = density.fit(x[:200], y[:200], x[200:], y[200:])
    assert mae < 0.03
    predicted = model.predict(x[200:])
    assert np.abs(predicted - y[200:]).mean() == pytest.approx(mae)
    assert model.predict(1000 * weights)[0] == 1.0 and model.predict(-1000 * weights)[0] == 0.0
    again = density.DensityModel.from_arrays(model.to_arrays())
    assert np.array_equal(again.predict(x), model.predict(x))
    wide = rng.normal(0, 1, (30, 100))  # fewer images than dimensions: solved in the dual
    assert density.fit(wide[:20], wide[:20, 0] * 0.1 + 0.5, wide[20:], wide[20:, 0] * 0.1 + 0.5)[1] < 0.1


def test_the_split_conformal_interval_covers_its_share_of_new_readings():
    rng = np.random.default_rng(1)
    covered = []
    for _ in range(200):
        errors = rng.normal(0, 0.05, 300)  # readings minus truths, calibration then new photos
        half = density.half_width(errors[:100], np.zeros(100), 0.9)
        covered.append(np.mean(np.abs(errors[100:]) <= half))
    assert 0.89 <= np.mean(covered) <= 0.93  # the guarantee: at least 0.9 on average, a little more
    assert density.half_width(np.zeros(5), np.ones(5), 0.9) == math.inf  # 5 errors cannot promise 90 %
    assert density.half_width(np.arange(9) / 10, np.zeros(9), 0.9) == pytest.approx(0.8)  # the 9th of 9


def test_a_reading_is_clipped_to_a_share_of_a_full_head():
    model = density.DensityModel(np.zeros(2), np.array([1.0, 0.0]), 0.0)
    assert density.read(model, 0.1, np.array([0.95, 0.0])) == density.Reading(0.95, 0.85, 1.0)
    assert density.read(model, 0.1, np.array([0.05, 3.0])) == density.Reading(0.05, 0.0, pytest.approx(0.15))


def test_the_smallest_detectable_change_is_1_96_root_2_sem():
    first = np.array([0.50, 0.40, 0.70, 0.20])
    second = np.array([0.52, 0.37, 0.70, 0.25])
    differences = first - second
    sem = np.std(differences, ddof=1) / math.sqrt(2)
    assert density.smallest_detectable_change(first, second) == pytest.approx(1.96 * math.sqrt(2) * sem)
    with pytest.raises(ValueError, match="at least two re-shoot pairs"):
        density.smallest_detectable_change(first[:1], second[:1])


def test_retest_pairs_join_each_scalps_first_shot_to_its_reshoots():
    scalps = ["a", "a", "b", "c", "c", "c", ""]
    shots = [0, 1, 0, 1, 0, 2, 1]
    assert density.retest_pairs(scalps, shots) == [(0, 1), (4, 3), (4, 5)]
