"""The run folder's figures: confusion matrix, learning curves, reliability diagram (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server, and no GUI toolkit to import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scalpcheck.metrics import reliability  # noqa: E402


def _save(fig, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)


def confusion_matrix(cm: np.ndarray, labels: list[str], path: Path, title: str) -> None:
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.1 * len(labels) + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.size else 0
    for (r, c), n in np.ndenumerate(cm):
        ax.text(c, r, str(n), ha="center", va="center", color="white" if n > threshold else "black")
    _save(fig, path)


def curves(histories: dict[str, list[dict]], path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, one colour per backbone."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]  # matplotlib's default cycle: tab10
    for colour, (name, rows) in zip(colours, histories.items(), strict=False):
        epochs = [r["epoch"] for r in rows]
        for ax, key in ((loss_ax, "loss"), (acc_ax, "acc")):
            ax.plot(epochs, [r[f"train_{key}"] for r in rows], color=colour, ls="--", label=f"{name} train")
            ax.plot(epochs, [r[f"val_{key}"] for r in rows], color=colour, label=f"{name} validation")
    loss_ax.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss")
    acc_ax.set(title="accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    acc_ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def calibration(y_true: np.ndarray, before: np.ndarray, after: np.ndarray, temperature: float, path: Path):
    """Reliability diagram of the top-class confidence, before and after temperature scaling."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfect calibration")
    for proba, name, marker in ((before, "before", "o"), (after, f"after (T = {temperature:.2f})", "s")):
        r = reliability(y_true, proba)
        used = r["count"] > 0
        ax.plot(r["confidence"][used], r["accuracy"][used], marker=marker, label=name)
    ax.set(
        xlabel="confidence",
        ylabel="accuracy",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title="calibration on the test split",
    )
    ax.legend(loc="upper left")
    _save(fig, path)
