"""The head: its exported arrays compute the same function, early stopping keeps the best epoch."""

from __future__ import annotations

import numpy as np
import torch

from scalpcheck.learn.head import Head, HeadParams, class_weights, predict_logits, train_head


def _numpy_head(arrays, x):
    h = np.maximum(x @ arrays["w0"].T + arrays["b0"], 0)
    h = np.maximum(h @ arrays["w1"].T + arrays["b1"], 0)
    return h @ arrays["w2"].T + arrays["b2"]


def test_head_npz_arrays_compute_the_head_on_raw_embeddings():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 1.0, size=(16, 40)).astype(np.float32)
    torch.manual_seed(0)
    head = Head(40, 4, hidden=16, dropout=0.5, mean=x.mean(0), std=x.std(0) + 0.1).eval()
    arrays = head.to_arrays()
    assert set(arrays) == {"w0", "b0", "w1", "b1", "w2", "b2"}
    assert arrays["w0"].shape == (16, 40) and arrays["w2"].shape == (4, 16)  # torch's [out, in]
    np.testing.assert_allclose(_numpy_head(arrays, x), predict_logits(head, x), rtol=1e-4, atol=1e-4)


def _blobs(n, seed, noise=1.0, separation=3.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 20)) * noise
    x[np.arange(n), y] += separation
    return x.astype(np.float32), y


def test_early_stopping_restores_the_best_validation_epoch():
    x, y = _blobs(60, 0, separation=1.0)
    xv, yv = _blobs(60, 1, separation=1.0)
    trained = train_head(x, y, xv, yv, 3, HeadParams(lr=3e-2, max_epochs=80, patience=10, dropout=0.0))
    losses = [row["val_loss"] for row in trained.history]
    assert trained.best_epoch == 1 + int(np.argmin(losses))
    assert len(losses) < 80  # stopped early: a tiny noisy set overfits fast at this learning rate
    restored = torch.nn.functional.cross_entropy(
        torch.as_tensor(predict_logits(trained.head, xv)), torch.as_tensor(yv)
    )
    assert abs(float(restored) - min(losses)) < 1e-5
    assert list(trained.history[0]) == ["epoch", "train_loss", "val_loss", "train_acc", "val_acc"]


def test_training_is_reproducible_and_learns():
    x, y = _blobs(90, 2)
    xv, yv = _blobs(60, 3)
    a = train_head(x, y, xv, yv, 3, HeadParams(max_epochs=30), seed=4)
    b = train_head(x, y, xv, yv, 3, HeadParams(max_epochs=30), seed=4)
    np.testing.assert_array_equal(predict_logits(a.head, xv), predict_logits(b.head, xv))
    assert (predict_logits(a.head, xv).argmax(1) == yv).mean() > 0.8


def test_class_weights_balance_rare_classes():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[1] == 3 * w[0] and w[2] == 0
