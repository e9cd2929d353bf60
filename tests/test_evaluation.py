"""The one evaluator: refusals apart, confident errors, and figures per subgroup on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from scalpcheck import records
from scalpcheck.evaluation import Evaluation, evaluate

LABELS = ("a", "b")
RIGHT, WRONG = [0.9, 0.1], [0.2, 0.8]  # for an image whose true class is "a"


def test_refused_images_are_counted_apart_and_left_out_of_the_figures():
    y = [0, 0, 0, 1]
    proba = [RIGHT, RIGHT, [np.nan, np.nan], [0.3, 0.7]]
    result = evaluate(y, proba, LABELS, refused=[None, None, "not_a_scalp_image", None], n_boot=100)
    assert (result.n, result.assessed) == (4, 3)
    assert result.refused == {"not_a_scalp_image": 1}
    assert result.refused_by_label == {"a": {"not_a_scalp_image": 1}}
    assert result.refusal_rate == pytest.approx(0.25)
    assert result.scores.n == 3 and result.scores.accuracy == 1.0
    assert result.scores.confusion_matrix == [[2, 0], [0, 1]]
    low, high = result.intervals.accuracy
    assert low <= 1.0 <= high


def test_errors_given_with_at_least_95_percent_confidence_are_counted():
    y = [0, 0, 0, 0]
    proba = [[0.97, 0.03], [0.02, 0.98], [0.4, 0.6], [0.96, 0.04]]
    result = evaluate(y, proba, LABELS, n_boot=0)
    assert result.confident_answers == 3  # 0.97, 0.98 and 0.96
    assert result.confident_errors == 1  # the 0.98 answer for "b"
    assert result.intervals is None  # n_boot=0 leaves out the bootstrap


def test_subgroup_table_of_a_hand_made_example():
    # Light skin: 4 images, all assessed, 3 right. Dark skin: 4 images, 1 refused, 1 of 3 right.
    y = [0] * 8
    proba = [RIGHT, RIGHT, RIGHT, WRONG, RIGHT, WRONG, WRONG, [np.nan, np.nan]]
    refused = [None] * 7 + ["not_a_scalp_image"]
    tone = ["light"] * 4 + ["dark"] * 4
    result = evaluate(y, proba, LABELS, refused=refused, groups={"skin": tone}, n_boot=2000)
    table = result.subgroups["skin"]
    light, dark = table.groups["light"], table.groups["dark"]
    assert (light.n, light.assessed, light.refusal_rate, light.accuracy) == (4, 4, 0.0, 0.75)
    assert (dark.n, dark.assessed, dark.refusal_rate) == (4, 3, 0.25)
    assert dark.accuracy == pytest.approx(1 / 3)
    assert table.accuracy_gap == pytest.approx(0.75 - 1 / 3)
    assert table.refusal_gap == pytest.approx(0.25)
    for group in (light, dark):
        assert group.accuracy_interval[0] <= group.accuracy <= group.accuracy_interval[1]
        assert group.refusal_interval[0] <= group.refusal_rate <= group.refusal_interval[1]
    low, high = table.accuracy_gap_interval
    assert 0 <= low <= table.accuracy_gap <= high <= 1


def test_a_group_with_every_image_refused_has_no_accuracy_and_counts_in_the_refusal_gap():
    y = [0, 0, 0]
    proba = [RIGHT, [np.nan] * 2, [np.nan] * 2]
    refused = [None, "image_too_dark", "image_too_dark"]
    result = evaluate(
        y, proba, LABELS, refused=refused, groups={"camera": ["phone", "dim", "dim"]}, n_boot=50
    )
    table = result.subgroups["camera"]
    assert table.groups["dim"].accuracy is None and table.groups["dim"].refusal_rate == 1.0
    assert table.accuracy_gap == 0.0  # one group with an accuracy: no gap between groups
    assert table.refusal_gap == 1.0


def test_ordinal_tasks_get_stage_error_per_group():
    labels = ("stage_0", "stage_1", "stage_2")
    y = [0, 2, 1, 1]
    proba = np.eye(3)[[0, 0, 1, 2]]  # errors of two stages and of one stage
    result = evaluate(y, proba, labels, ordinal=True, groups={"style": ["x", "x", "y", "y"]}, n_boot=0)
    assert result.scores.mae == pytest.approx(3 / 4) and result.scores.qwk is not None
    assert result.subgroups["style"].groups["x"].mae == pytest.approx(1.0)
    assert result.subgroups["style"].groups["y"].mae == pytest.approx(0.5)


def test_an_evaluation_round_trips_through_json():
    result = evaluate([0, 1], [RIGHT, [0.1, 0.9]], LABELS, groups={"g": ["u", "v"]}, n_boot=20)
    again = records.from_dict(Evaluation, records.to_dict(result), "evaluation")
    assert again == result


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="refusal entries"):
        evaluate([0, 1], [RIGHT, RIGHT], LABELS, refused=[None])
    with pytest.raises(ValueError, match="values for 2 images"):
        evaluate([0, 1], [RIGHT, RIGHT], LABELS, groups={"g": ["only one"]})


def test_density_scores_on_a_hand_made_set():
    import scipy.stats

    from scalpcheck.evaluation import density_scores

    # three scalps, each photographed twice (ids a, b, c), and an image without a known density
    truth = np.array([0.9, 0.9, 0.5, 0.5, 0.1, 0.1, np.nan])
    estimate = np.array([0.85, 0.88, 0.55, 0.50, 0.20, 0.12, 0.4])
    low, high = estimate - 0.06, estimate + 0.06
    scores = density_scores(
        estimate,
        low,
        high,
        truth,
        stage=[0, 0, 2, 2, 4, 4, 1],
        scalps=["a", "a", "b", "b", "c", "c", "d"],
        shots=[0, 1, 0, 1, 0, 1, 0],
        sdc=0.06,
        n_boot=200,
    )
    assert scores.n == 6
    assert scores.mae == pytest.approx(np.mean([0.05, 0.02, 0.05, 0.0, 0.1, 0.02]))
    assert scores.coverage == pytest.approx(5 / 6)  # only 0.20 for 0.1 misses by more than 0.06
    assert scores.mean_width == pytest.approx(0.12)
    expected = scipy.stats.spearmanr(estimate[:6], [0, 0, 2, 2, 4, 4]).statistic  # ties share ranks
    assert scores.spearman_vs_stage == pytest.approx(expected) and expected < -0.9
    assert scores.retest_pairs == 3
    differences = np.array([0.85 - 0.88, 0.55 - 0.50, 0.20 - 0.12])
    assert scores.smallest_detectable_change == pytest.approx(1.96 * np.std(differences, ddof=1))
    assert scores.retest_within_sdc == pytest.approx(2 / 3)  # 0.08 apart is more than the SDC of 0.06
    # first shots: a-b differ by 0.4, a-c by 0.8, b-c by 0.4 in truth, all beyond 2 x 0.06; all read rightly
    assert scores.real_changes == 3 and scores.real_changes_detected == 1.0
    assert scores.mae_interval[0] <= scores.mae <= scores.mae_interval[1]
