"""The out-of-distribution score on synthetic embeddings (real photos are refused in the slow demo test)."""

from __future__ import annotations

import numpy as np
import pytest

from scalpcheck import ood


def _cluster(n, seed, centre):
    rng = np.random.default_rng(seed)
    return np.abs(centre + 0.3 * rng.normal(size=(n, centre.size))).astype(np.float32)


@pytest.fixture
def centre():
    return np.abs(np.random.default_rng(42).normal(size=64)) + 0.5


def test_heldout_photos_accepted_and_others_refused(centre):
    stats = ood.fit(_cluster(200, 0, centre))
    threshold = ood.choose_threshold(stats, _cluster(100, 1, centre), accept_rate=0.99)
    new_in = ood.score(stats, _cluster(500, 2, centre))
    assert (new_in <= threshold).mean() >= 0.95
    elsewhere = np.abs(np.random.default_rng(3).normal(size=(50, 64))).astype(np.float32)
    assert (ood.score(stats, elsewhere) > threshold).all()


def test_threshold_from_training_embeddings_would_refuse_new_photos(centre):
    """Why the threshold must come from held-out photos: the reference photos are their own neighbours, so
    a threshold meant to refuse 1 % of new photos refuses many times more."""
    train = _cluster(200, 0, centre)
    stats = ood.fit(train)
    on_train = ood.choose_threshold(stats, train, accept_rate=0.99)
    assert (ood.score(stats, _cluster(1000, 2, centre)) > on_train).mean() > 0.05


def test_stats_survive_an_npz_round_trip_and_score_one_embedding(tmp_path, centre):
    stats = ood.fit(_cluster(20, 0, centre))
    np.savez(tmp_path / "ood.npz", **stats)
    with np.load(tmp_path / "ood.npz", allow_pickle=False) as f:
        loaded = dict(f)
    one = _cluster(1, 5, centre)[0]
    assert ood.score(loaded, one).shape == (1,)
    assert ood.score(loaded, one)[0] == pytest.approx(ood.score(stats, one[None])[0])


def test_scale_does_not_change_the_score(centre):
    """A dim photo has a small embedding; only its direction should count."""
    stats = ood.fit(_cluster(50, 0, centre))
    x = _cluster(5, 1, centre)
    assert ood.score(stats, x) == pytest.approx(ood.score(stats, 10 * x), abs=1e-5)


def test_bad_input_is_refused(centre):
    with pytest.raises(ValueError):
        ood.fit(np.zeros((1, 8)))
    stats = ood.fit(_cluster(5, 0, centre))
    with pytest.raises(ValueError):
        ood.choose_threshold(stats, _cluster(5, 1, centre), accept_rate=0)
    with pytest.raises(ValueError, match="unknown"):
        ood.score({**stats, "method": np.array("nonsense")}, _cluster(1, 1, centre))


def test_training_scores_match_new_photos_and_steady_a_small_validation_split(centre):
    """Left out one at a time, the training photos score like new ones; pooled with a 16-photo validation
    split, the threshold accepts close to its target instead of the ~94 % a 16-photo maximum gives."""
    train = _cluster(60, 0, centre)
    stats = ood.fit(train)
    left_out = ood.training_scores(stats)
    new = ood.score(stats, _cluster(2000, 2, centre))
    assert abs(np.median(left_out) - np.median(new)) < 0.1 * np.median(new)
    rates = {False: [], True: []}
    for seed in range(10, 40):
        for pooled in rates:
            _, info = ood.fit_gate(train, _cluster(16, seed, centre), train[:4], leave_one_out=pooled)
            rates[pooled].append((new <= info.threshold).mean())
    assert np.mean(rates[True]) > np.mean(rates[False])
    assert np.mean(rates[True]) >= 0.97
