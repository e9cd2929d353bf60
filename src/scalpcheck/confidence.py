"""Calibrated probabilities: temperature scaling, then, where it was fitted, a map of the top class's
probability to how often such answers are right.

Temperature scaling (one number, fitted by the log-likelihood) keeps every answer and fixes most
miscalibration. It cannot fix a model whose most confident answers are too sure while its middling ones
are too shy, as the hair-loss stages' are (neighbouring stages look alike). With enough calibration photos
(learn.calibrate.MIN_MAP_IMAGES), an isotonic map of the top probability corrects that; the other classes
share what is left in their own proportions, so the answer never changes. Numpy only: serving imports it.
"""

from __future__ import annotations

import numpy as np

from scalpcheck.card import ConfidenceMap
from scalpcheck.metrics import softmax


def probabilities(logits, temperature: float, confidence_map: ConfidenceMap | None = None) -> np.ndarray:
    """Calibrated probabilities of logits [N, K] (or [K]), same shape."""
    proba = softmax(logits, temperature)
    return proba if confidence_map is None else remap(proba, confidence_map)


def remap(proba: np.ndarray, confidence_map: ConfidenceMap) -> np.ndarray:
    """The top class's probability through the map, the others scaled to fill the rest; the top class
    stays the top one."""
    p = np.atleast_2d(np.asarray(proba, dtype=np.float64))
    rows = np.arange(len(p))
    top = p.argmax(axis=1)
    confidence = p[rows, top]
    mapped = np.interp(confidence, confidence_map.x, confidence_map.y)
    runner_up = np.partition(p, p.shape[1] - 2, axis=1)[:, -2] if p.shape[1] > 1 else np.zeros(len(p))
    # a hair above the least the top probability may become and still beat the runner-up's, once rescaled
    mapped = np.minimum(
        np.maximum(mapped, runner_up / np.maximum(1 - confidence + runner_up, 1e-12) + 1e-9), 1
    )
    rest = np.maximum(1 - confidence, 1e-12)
    out = p * ((1 - mapped) / rest)[:, None]
    out[rows, top] = mapped
    return out.reshape(np.shape(proba))
