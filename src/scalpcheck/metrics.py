"""Classification metrics from class probabilities, numpy only.

The formulas behind scalpcheck.evaluation: neither torch nor scikit-learn (tests check every figure against
scikit-learn), so a serving install can evaluate. Everything derives from one confusion matrix, which also
keeps the bootstrap (thousands of resamples of a small test split) fast.

Labels are integer class indices 0..K-1 in the model's output order.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """[K, K] counts; row = true class, column = predicted class."""
    flat = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_class_scores(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support


def quadratic_weighted_kappa(cm: np.ndarray) -> float:
    """Cohen's kappa with quadratic weights: agreement on ordered stages beyond chance, where an error of
    two stages costs four times one of a single stage. 1 is perfect, 0 is chance; NaN when undefined."""
    k = len(cm)
    n = cm.sum()
    if n == 0:
        return float("nan")
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / n
    denominator = (weights * expected).sum()
    return float(1 - (weights * cm).sum() / denominator) if denominator > 0 else float("nan")


def stage_mae(cm: np.ndarray) -> float:
    """Mean absolute error in stages, for ordinal labels."""
    idx = np.arange(len(cm))
    return float((np.abs(idx[:, None] - idx[None, :]) * cm).sum() / max(cm.sum(), 1))


def log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(np.asarray(proba, dtype=np.float64)[np.arange(len(y_true)), y_true], 1e-15, 1.0)
    return float(-np.log(p).mean())


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width confidence bins over 0..1, right edges included (a confidence of 1.0 is in the last)."""
    return np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)


def reliability(y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Per confidence bin (equal widths over 0..1): mean confidence, accuracy and count of the top class."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    bins = _bin_of(confidence, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    return {
        "edges": np.linspace(0, 1, n_bins + 1),
        "confidence": _ratio(np.bincount(bins, confidence, minlength=n_bins), count),
        "accuracy": _ratio(np.bincount(bins, correct, minlength=n_bins), count),
        "count": count,
    }


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """The count-weighted mean gap between confidence and accuracy over the bins (Guo et al. 2017)."""
    r = reliability(np.asarray(y_true), np.asarray(proba), n_bins)
    return float((r["count"] * np.abs(r["confidence"] - r["accuracy"])).sum() / max(r["count"].sum(), 1))


def ece_if_calibrated(
    proba, n_draws: int = 2000, confidence: float = 0.95, seed: int = 0, n_bins: int = ECE_BINS
) -> dict[str, float]:
    """The ECE that a perfectly calibrated model with these confidences would show on this many images.

    Each draw makes every image's top class right with exactly its stated confidence and measures the ECE
    of the outcome: the ECE that chance alone produces. On a few dozen test images it is far from zero
    (about 0.06 for 25 images at 80 % confidence), so a measured ECE must be read against it.
    Returns the mean and a percentile interval over the draws.
    """
    conf = np.asarray(proba, dtype=np.float64).max(axis=1)
    one_hot = np.eye(n_bins)[_bin_of(conf, n_bins)]  # [N, bins]
    correct = np.random.default_rng(seed).random((n_draws, len(conf))) < conf
    gaps = np.abs((conf - correct) @ one_hot).sum(axis=1) / max(len(conf), 1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return {"mean": float(gaps.mean()), "low": float(low), "high": float(high)}


def summary(cm: np.ndarray, ordinal: bool) -> dict[str, float]:
    """Accuracy and macro scores; the macro averages run over the classes that occur among the true or the
    predicted labels (scikit-learn's default), so a bootstrap resample that happens to miss a class is not
    scored as if that class had been all wrong."""
    precision, recall, f1, _ = per_class_scores(cm)
    seen = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    scores = {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "precision_macro": float(precision[seen].mean()),
        "recall_macro": float(recall[seen].mean()),
        "f1_macro": float(f1[seen].mean()),
    }
    if ordinal:
        scores["qwk"] = quadratic_weighted_kappa(cm)
        scores["mae"] = stage_mae(cm)
    return scores


def bootstrap_ci(
    y_true,
    proba,
    n_classes: int,
    ordinal: bool = False,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals [low, high] of accuracy, macro scores (and QWK, MAE) over images.

    With five test images a class a point estimate alone says little; the interval shows how little.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(proba).argmax(axis=1)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n_boot):
        pick = rng.integers(0, len(y_true), len(y_true))
        for name, value in summary(confusion_matrix(y_true[pick], y_pred[pick], n_classes), ordinal).items():
            samples.setdefault(name, []).append(value)
    tail = (1 - confidence) / 2 * 100
    return {
        name: [float(v) for v in np.nanpercentile(values, [tail, 100 - tail])]
        for name, values in samples.items()
    }


def mean_ci(values, confidence: float = 0.95) -> dict[str, float]:
    """Mean and Student-t interval of per-fold scores (cross-validation)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    mean = float(v.mean())
    if len(v) < 2:
        return {"mean": mean, "low": mean, "high": mean, "n": int(len(v))}
    half = float(stats.t.ppf((1 + confidence) / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(len(v))}


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    rx, ry = (_ranks(np.asarray(v, np.float64)) for v in (x, y))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    unique, inverse = np.unique(values, return_inverse=True)
    # ties share the mean of their ranks
    sums = np.bincount(inverse, ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse] if len(unique) < len(values) else ranks
