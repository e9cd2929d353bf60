"""Out-of-distribution check: is an embedding like the photos the model was trained on?

A classifier always answers with one of its labels, even for a photo of a cat. Before diagnosing, the
serving path scores the backbone's pooled embedding against the training photos' embeddings and refuses a
photo whose score is above a threshold.

The score is the cosine distance to the k nearest training embeddings (Sun et al., 2022), after a signed
square root ("power normalisation", which keeps a few strongly firing channels from dominating) and L2
normalisation. Cosine distance ignores an embedding's length (a dim photo's embedding is small and lies near
the training mean in Euclidean terms), and nearest neighbours need no covariance, which a few hundred photos
in 1280 dimensions cannot estimate (a Mahalanobis distance is then mostly its shrinkage).

The reference embeddings come from the training photos; the threshold is chosen on held-out embeddings,
because the distances of the reference photos to themselves are zero and a threshold set on them refuses
nearly every new photo.

Numpy only: the serving path imports this module.
"""

from __future__ import annotations

import numpy as np

from scalpcheck.card import OodInfo

METHOD = "knn-cosine"
NEIGHBOURS = 10
ACCEPT_RATE = 0.99  # share of held-out in-distribution photos the threshold lets through
MIN_HELDOUT_ACCEPT = 0.95  # the threshold never drops below this share of held-out photos for a negative
MIN_LEAVE_ONE_OUT = 5 * NEIGHBOURS  # training photos needed before their leave-one-out scores count


def normalise(embeddings: np.ndarray) -> np.ndarray:
    """Signed square root, then unit length: [N, D] float32."""
    x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    x = np.sign(x) * np.sqrt(np.abs(x))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit(train_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """The reference set from training embeddings [N, D], as the arrays saved in a bundle's ood.npz."""
    x = np.asarray(train_embeddings)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two embeddings as an [N, D] array, got shape {x.shape}")
    return {
        "method": np.array(METHOD),
        "reference": normalise(x),
        "k": np.array(min(NEIGHBOURS, len(x))),
    }


def score(stats: dict, embeddings: np.ndarray) -> np.ndarray:
    """Distance of each embedding [N, D] (or one [D]) from the training photos: [N], higher = less alike.

    1 - the mean cosine similarity to the k nearest training embeddings; 0 means identical directions.
    """
    method = str(np.asarray(stats["method"]))
    if method != METHOD:
        raise ValueError(f"unknown out-of-distribution method {method!r}")
    k = int(stats["k"])
    similarity = normalise(embeddings) @ stats["reference"].T
    nearest = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
    return 1.0 - nearest.mean(axis=1)


def training_scores(stats: dict, chunk: int = 1024) -> np.ndarray:
    """Each reference embedding's score against the others (left out one at a time): [N].

    Their distribution is close to that of new photos from the same source, so they add many held-out-like
    scores to a small validation split, whose own 99th percentile is little more than its largest score.
    """
    reference = stats["reference"]
    k = min(int(stats["k"]), len(reference) - 1)
    out = np.empty(len(reference), np.float32)
    for start in range(0, len(reference), chunk):
        similarity = reference[start : start + chunk] @ reference.T
        rows = np.arange(len(similarity))
        similarity[rows, rows + start] = -np.inf
        nearest = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
        out[start : start + chunk] = 1.0 - nearest.mean(axis=1)
    return out


def choose_threshold(stats: dict, heldout_embeddings: np.ndarray, accept_rate: float = ACCEPT_RATE) -> float:
    """The score below which `accept_rate` of held-out in-distribution photos fall.

    Use embeddings of photos the reference set does not contain (the validation split).
    """
    if not 0.0 < accept_rate <= 1.0:
        raise ValueError(f"accept_rate must be in (0, 1], got {accept_rate}")
    scores = score(stats, heldout_embeddings)
    return float(np.quantile(scores, accept_rate, method="higher"))


def fit_gate(
    train: np.ndarray,
    heldout: np.ndarray,
    test: np.ndarray,
    accept_rate: float = ACCEPT_RATE,
    *,
    negatives: np.ndarray | None = None,
    heldout_name: str = "validation images",
    heldout_scores: np.ndarray | None = None,
    leave_one_out: bool = False,
) -> tuple[dict[str, np.ndarray], OodInfo]:
    """The reference set from the training embeddings, its threshold from held-out embeddings (photos the
    reference does not contain: the validation split, or another source), and the card's account of both.

    With `negatives` (embeddings of real photos that are not scalps), the threshold is lowered below the
    nearest of them as long as that still accepts MIN_HELDOUT_ACCEPT of the held-out photos; the card
    records how many of them it refuses either way. `heldout_scores`, when given, are the held-out photos'
    scores against references that did not contain them (leave-one-style-out folds), used as they are.
    With `leave_one_out` (the held-out photos come from the training photos' source) and at least
    MIN_LEAVE_ONE_OUT training photos, their own leave-one-out scores join them in choosing the threshold.
    """
    stats = fit(train)
    if heldout_scores is None:
        heldout_scores = score(stats, heldout)
    pool = heldout_scores
    # Leaving one out barely changes a reference many times larger than k; in a small one it does.
    if leave_one_out and len(train) >= MIN_LEAVE_ONE_OUT:
        pool = np.concatenate([heldout_scores, training_scores(stats)])
        heldout_name += f" and the {len(train)} training images, each scored against the others"
    threshold = float(np.quantile(pool, accept_rate, method="higher"))
    refused_share = None
    if negatives is not None and len(negatives):
        negative_scores = score(stats, negatives)
        below = float(np.nextafter(negative_scores.min(), 0))
        if below < threshold and (pool <= below).mean() >= MIN_HELDOUT_ACCEPT:
            threshold = below
        refused_share = float((negative_scores > threshold).mean())
    return stats, OodInfo(
        method=METHOD,
        threshold=threshold,
        accept_rate_target=accept_rate,
        heldout_accept_rate=float((heldout_scores <= threshold).mean()),
        test_accept_rate=float((score(stats, test) <= threshold).mean()),
        fitted_on=f"{len(train)} training images (plain views)",
        threshold_from=heldout_name,
        negatives=None if negatives is None else len(negatives),
        negatives_refused=refused_share,
    )
