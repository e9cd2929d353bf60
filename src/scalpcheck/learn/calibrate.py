"""Temperature scaling (Guo et al. 2017): one number that makes the model's confidences mean what they say.

Dividing the logits by a temperature T changes no prediction, only how sure the probabilities are. T is
fitted on validation logits by minimising the negative log-likelihood; the test split then shows whether
the calibration holds on photos it was not fitted on. On a calibration source large enough, the top class's
probability is then mapped to how often it was right (scalpcheck.confidence).
"""

from __future__ import annotations

import math

import numpy as np

from scalpcheck.card import ConfidenceMap
from scalpcheck.metrics import log_loss, softmax

# A perfectly separated validation set drives the fitted T towards 0 (ever sharper, ever lower loss);
# bounding it keeps one unlucky test photo from being reported at 100 % confidence.
MIN_TEMPERATURE = 0.25
MAX_TEMPERATURE = 20.0


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)

    def nll(log_t: float) -> float:
        return log_loss(y_true, softmax(logits, math.exp(log_t)))

    result = minimize_scalar(
        nll, bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)), method="bounded"
    )
    return float(math.exp(result.x))


MIN_MAP_IMAGES = 200  # calibration photos below which the top-probability map would only fit noise
MAX_CONFIDENCE = 0.99  # no answer is given as more certain than this


def fit_confidence_map(proba: np.ndarray, y_true: np.ndarray, fitted_on: str) -> ConfidenceMap | None:
    """An isotonic map of the top class's probability (after temperature) to how often it was right on
    these photos; None when there are fewer than MIN_MAP_IMAGES."""
    from sklearn.isotonic import IsotonicRegression

    proba, y_true = np.asarray(proba, dtype=np.float64), np.asarray(y_true)
    if len(y_true) < MIN_MAP_IMAGES:
        return None
    confidence = proba.max(axis=1)
    right = (proba.argmax(axis=1) == y_true).astype(np.float64)
    floor = 1.0 / proba.shape[1]
    iso = IsotonicRegression(y_min=floor, y_max=MAX_CONFIDENCE, out_of_bounds="clip").fit(confidence, right)
    x, y = iso.X_thresholds_, iso.y_thresholds_
    return ConfidenceMap(x=tuple(float(v) for v in x), y=tuple(float(v) for v in y), fitted_on=fitted_on)
