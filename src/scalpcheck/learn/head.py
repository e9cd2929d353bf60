"""The classification head on frozen embeddings: two dense hidden layers and an output layer.

Trained with class-weighted cross-entropy and AdamW; early stopping on the validation loss restores the
weights of the best epoch: with dropout and augmented views, it keeps the head from memorising a few
hundred images.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class HeadParams:
    lr: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 100
    dropout: float = 0.3
    hidden: int = 128
    weight_decay: float = 1e-2
    # Label smoothing keeps the logits moderate: an unbounded margin on a few hundred images makes a
    # head overconfident (temperature scaling then has more to undo) and its logits so large (hundreds)
    # that float32 rounding alone moves them by more than the export's 1e-4 parity check allows.
    label_smoothing: float = 0.1
    patience: int = 15  # epochs without a better validation loss before stopping

    def to_dict(self) -> dict:
        return asdict(self)


class Head(nn.Module):
    """Embedding -> logits. Inputs are standardised with the training features' mean and spread (a fixed
    buffer, folded into the first layer on export), so one learning rate suits every backbone."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, dim: int, n_classes: int, hidden: int, dropout: float, mean=None, std=None):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim) if mean is None else torch.as_tensor(mean).float())
        self.register_buffer("std", torch.ones(dim) if std is None else torch.as_tensor(std).float())
        self.layers = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.layers((embedding - self.mean) / self.std)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """head.npz: the dense layers in torch's [out, in] layout, standardisation folded into w0 and b0.

        (x - m) / s @ W.T + b == x @ (W / s).T + (b - (W / s) @ m): the same function on raw embeddings.
        """
        linears = [m for m in self.layers if isinstance(m, nn.Linear)]
        with torch.no_grad():
            w0 = linears[0].weight.double() / self.std.double()
            b0 = linears[0].bias.double() - w0 @ self.mean.double()
            tensors = [w0, b0] + [t for m in linears[1:] for t in (m.weight, m.bias)]
            names = [f"{kind}{n}" for n in range(3) for kind in ("w", "b")]
            return {
                name: t.detach().numpy().astype(np.float32) for name, t in zip(names, tensors, strict=True)
            }


@dataclass
class TrainedHead:
    head: Head
    params: HeadParams
    history: list[dict]  # one row per epoch: epoch, train_loss, val_loss, train_acc, val_acc
    best_epoch: int
    best_val_loss: float


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse class frequency, normalised to mean 1 (scikit-learn's "balanced"); absent classes get 0."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return np.divide(len(y), n_classes * counts, out=np.zeros(n_classes), where=counts > 0)


@contextmanager
def single_thread():
    """Run torch on one thread: the head's matrices are so small that a second thread only adds
    synchronisation, and on a busy machine waiting OpenMP threads make each step many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    n_classes: int,
    params: HeadParams,
    seed: int = 0,
    epochs: int | None = None,
) -> TrainedHead:
    """Train a head; with validation data, stop early on its loss and keep the best epoch's weights.

    Without validation data (cross-validation folds) it trains exactly `epochs` epochs.
    """
    with single_thread():
        return _train(x_train, y_train, x_val, y_val, n_classes, params, seed, epochs)


def _train(x_train, y_train, x_val, y_val, n_classes, params, seed, epochs) -> TrainedHead:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.long)
    # A feature almost constant over the training images must not blow up when it varies in a new one.
    std = xt.std(0)
    head = Head(
        xt.shape[1], n_classes, params.hidden, params.dropout, xt.mean(0), std.clamp_min(0.1 * std.mean())
    )
    weights = torch.as_tensor(class_weights(np.asarray(y_train), n_classes), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=params.label_smoothing)
    optimiser = torch.optim.AdamW(head.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    has_val = x_val is not None and len(x_val) > 0
    if has_val:
        xv = torch.as_tensor(x_val, dtype=torch.float32)
        yv = torch.as_tensor(y_val, dtype=torch.long)
    history: list[dict] = []
    best_loss, best_epoch, best_state, stale = float("inf"), 0, None, 0
    for epoch in range(1, (epochs or params.max_epochs) + 1):
        head.train()
        order = torch.randperm(len(xt), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(xt), params.batch_size):
            batch = order[start : start + params.batch_size]
            logits = head(xt[batch])
            loss = loss_fn(logits, yt[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total_loss += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(1) == yt[batch]).sum())
        val_loss = val_acc = None
        if has_val:
            head.eval()
            with torch.no_grad():
                val_logits = head(xv)
            val_loss = float(nn.functional.cross_entropy(val_logits, yv))
            val_acc = float((val_logits.argmax(1) == yv).float().mean())
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_state = copy.deepcopy(head.state_dict())
            else:
                stale += 1
        row = {
            "epoch": epoch,
            "train_loss": total_loss / len(xt),
            "val_loss": val_loss,
            "train_acc": correct / len(xt),
            "val_acc": val_acc,
        }
        history.append({k: v for k, v in row.items() if v is not None})
        if has_val and stale >= params.patience:
            break
    if best_state is not None:
        head.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    head.eval()
    return TrainedHead(head, params, history, best_epoch, best_loss)


def predict_logits(head: Head, x: np.ndarray) -> np.ndarray:
    head.eval()
    with single_thread(), torch.no_grad():
        return head(torch.as_tensor(x, dtype=torch.float32)).numpy().astype(np.float64)
