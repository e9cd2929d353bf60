"""Temperature scaling (Guo et al. 2017): one number that makes the model's confidences mean what they say.

Dividing the logits by a temperature T changes no prediction, only how sure the probabilities are. T is
fitted on validation logits by minimising the negative log-likelihood; the test split then shows whether
the calibration holds on photos it was not fitted on.
"""

from __future__ import annotations

import math

import numpy as np

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
