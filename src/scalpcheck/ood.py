"""Out-of-distribution check: is an embedding like the photos the model was trained on?

A classifier always answers with one of its labels, even for a photo of a cat. Before diagnosing, the
serving path scores the backbone's pooled embedding against statistics of the training embeddings and
refuses a photo whose score is above a threshold.

The score is the Mahalanobis distance to the training embeddings' mean, with a Ledoit-Wolf shrunk
covariance: with a few hundred photos and 512..2048 feature dimensions the sample covariance is singular,
and shrinkage gives a well-conditioned estimate without a tuning parameter.

The statistics come from training embeddings; the threshold is chosen on held-out embeddings, because
distances of the fitting photos themselves are biased low and a threshold set on them refuses nearly
every new photo.

Fitting needs scikit-learn; scoring is numpy only (the serving path imports this module).
"""

from __future__ import annotations

import numpy as np

METHOD = "mahalanobis"


def fit(train_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of the training embeddings [N, D], as the arrays saved in a bundle's ood.npz."""
    from sklearn.covariance import LedoitWolf

    x = np.asarray(train_embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two embeddings as an [N, D] array, got shape {x.shape}")
    lw = LedoitWolf(assume_centered=False).fit(x)
    return {
        "method": np.array(METHOD),
        "mean": lw.location_.astype(np.float32),
        "precision": lw.precision_.astype(np.float32),
    }


def score(stats: dict, embeddings: np.ndarray) -> np.ndarray:
    """Distance of each embedding [N, D] (or one [D]) from the training photos: [N], higher = less alike."""
    method = str(np.asarray(stats["method"]))
    if method != METHOD:
        raise ValueError(f"unknown out-of-distribution method {method!r}")
    z = np.atleast_2d(np.asarray(embeddings, dtype=np.float32)) - stats["mean"]
    squared = np.einsum("nd,nd->n", z @ stats["precision"], z)
    return np.sqrt(np.maximum(squared, 0.0))


def choose_threshold(stats: dict, heldout_embeddings: np.ndarray, accept_rate: float) -> float:
    """The score below which `accept_rate` of held-out in-distribution photos fall.

    Use embeddings of photos the statistics were not fitted on (the validation split).
    """
    if not 0.0 < accept_rate <= 1.0:
        raise ValueError(f"accept_rate must be in (0, 1], got {accept_rate}")
    scores = score(stats, heldout_embeddings)
    return float(np.quantile(scores, accept_rate, method="higher"))
