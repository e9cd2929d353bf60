"""Fine-tuning (`--fine-tune`): the backbone's tail trained with the head, on cached maps of the frozen stem.

A frozen ImageNet base describes texture, not how much of a scalp its hair covers; training the later
stages on the task is what makes the hair-loss stages separable. The backbone splits in two
(Backbone.split): the stem stays frozen, and its output maps for the plain view of every image and for
the augmented views of the training images are computed once (ONNX Runtime, as features are) and cached;
the tail and the head then train on them, which costs a fraction of training the whole network on images.
Batch-norm statistics stay frozen (a few hundred images would undo ImageNet's). Where the dataset's
manifest gives each image's true hair density, a density output trained beside the classes (and not
exported) steers the tail towards measuring it. The result is kept only if it lowers the validation
loss; the figures are then those of the fine-tuned network.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scalpcheck.learn.backbones import Backbone
from scalpcheck.learn.dataset import PreparedData
from scalpcheck.learn.features import Features, cached_extract, extract
from scalpcheck.learn.head import class_weights
from scalpcheck.learn.results import FineTuning
from scalpcheck.preprocess import Preprocess

if TYPE_CHECKING:
    from scalpcheck.learn.compare import Candidate

PATIENCE = 2
TAIL_LR = 3e-4  # the tail's learning rate; the head keeps the tuned one, scaled by HEAD_LR_FACTOR
HEAD_LR_FACTOR = 0.3
DENSITY_WEIGHT = 5.0  # of the density loss (smooth L1 on shares 0..1) beside the classes' cross-entropy
BATCH = 32


class _Tail(nn.Module):
    """Stem maps -> (logits, embedding, density): the backbone's tail, its global average, the heads."""

    def __init__(self, tail: nn.Module, head: nn.Module, dim: int):
        super().__init__()
        self.tail, self.head = tail, head
        self.density = nn.Linear(dim, 1)

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        embedding = self.tail(maps).mean(dim=(2, 3))
        return self.head(embedding), embedding, torch.sigmoid(self.density(embedding))[:, 0]


def stem_maps(
    backbone: Backbone,
    model: nn.Module,
    pre: Preprocess,
    data: PreparedData,
    plan: dict[int, int],
    key: str,
    cache_dir: Path,
    seed: int,
    progress: bool,
) -> tuple[Features, bool]:
    """The frozen stem's output for every item's plain view and its planned augmented views (cached under the
    features' own key, distinguished by name); and whether it came from the cache."""
    stem, _ = backbone.split(model)
    return cached_extract(
        cache_dir,
        key,
        f"{backbone.name}-stem",
        lambda: extract(stem, data.items, pre, plan, seed, progress, f"{backbone.name} stem maps", maps=True),
    )


def pooled(tail: nn.Module, maps: Features) -> Features:
    """The embeddings of every cached view: the tail run on its map, then the global average."""
    with torch.inference_mode():
        chunks = [
            tail(torch.as_tensor(maps.embeddings[k : k + 64].astype(np.float32))).mean(dim=(2, 3)).numpy()
            for k in range(0, len(maps.item), 64)
        ]
    return Features(np.concatenate(chunks), maps.item, maps.view, maps.seconds)


def fine_tune(
    candidate: Candidate, data: PreparedData, *, seed: int, epochs: int, progress: bool = False
) -> FineTuning:
    """Fine-tune `candidate`'s tail and head in place; returns what happened (also kept in its figures)."""
    torch.manual_seed(seed)
    if candidate.maps is None:
        raise ValueError("fine-tuning needs the stem's maps: fit the backbone with stem_maps=True")
    maps = candidate.maps
    _, tail = candidate.backbone.split(candidate.network)
    untuned = copy.deepcopy(tail).eval()  # the gate keeps scoring photos on ImageNet's features
    model = _Tail(tail, candidate.trained.head, candidate.backbone.feature_dim)
    params = candidate.trained.params
    groups: list[dict] = [
        {"params": list(tail.parameters()), "lr": TAIL_LR},
        {"params": [*candidate.trained.head.parameters(), *model.density.parameters()]},
    ]
    optimiser = torch.optim.AdamW(groups, lr=params.lr * HEAD_LR_FACTOR, weight_decay=params.weight_decay)
    weights = torch.as_tensor(
        class_weights(data.y[data.split["train"]], len(data.labels)), dtype=torch.float32
    )
    classes = nn.CrossEntropyLoss(weight=weights, label_smoothing=params.label_smoothing)
    density = torch.as_tensor(data.density)
    rows = torch.as_tensor(np.flatnonzero(np.isin(maps.item, data.split["train"])))
    val_maps = torch.as_tensor(maps.plain(data.split["val"]).astype(np.float32))
    val_y = torch.as_tensor(data.y[data.split["val"]])
    all_maps = torch.as_tensor(maps.embeddings)
    items = torch.as_tensor(maps.item)
    generator = torch.Generator().manual_seed(seed)

    def val_loss() -> float:
        model.eval()
        with torch.inference_mode():
            return float(nn.functional.cross_entropy(model(val_maps)[0], val_y))

    best_loss = before = val_loss()
    best_state = copy.deepcopy(model.state_dict())
    stale, epochs_run = 0, 0
    for _epoch in tqdm(
        range(epochs), desc=f"{candidate.name} fine-tuning", unit="epoch", disable=not progress
    ):
        model.train()
        tail.apply(_freeze_batch_norm)
        order = rows[torch.randperm(len(rows), generator=generator)]
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            item = items[batch]
            logits, _, predicted = model(all_maps[batch].float())
            loss = classes(logits, torch.as_tensor(data.y)[item])
            known = ~torch.isnan(density[item])
            if known.any():
                loss = loss + DENSITY_WEIGHT * nn.functional.smooth_l1_loss(
                    predicted[known], density[item][known], beta=0.05
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        epochs_run += 1
        loss_now = val_loss()
        if loss_now < best_loss - 1e-6:
            best_loss, stale = loss_now, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    model.load_state_dict(best_state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    outcome = FineTuning(
        epochs=epochs_run, val_loss_before=before, val_loss_after=best_loss, kept=best_loss < before
    )
    candidate.fine_tuned = outcome
    candidate.maps = None  # hundreds of megabytes; the embeddings below are all the run needs now
    if outcome.kept:
        candidate.reference = (candidate.backbone, untuned, candidate.features)
        candidate.features = _plain_embeddings(model, maps, len(data.items))
        from scalpcheck.learn.compare import score

        score(candidate, data)  # cross-validation figures stay those of the frozen backbone
    elif candidate.figures is not None:  # a leave-one-style-out fold has no figures of its own
        candidate.figures = replace(candidate.figures, fine_tuned=outcome)
    return outcome


def _freeze_batch_norm(module: nn.Module) -> None:
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.eval()


def _plain_embeddings(model: _Tail, maps: Features, n_items: int) -> Features:
    """The fine-tuned network's embedding of every item's plain view (the tail run on the cached maps)."""
    plain = maps.plain(range(n_items))
    with torch.inference_mode():
        chunks = [
            model(torch.as_tensor(plain[k : k + 64].astype(np.float32)))[1].numpy()
            for k in range(0, len(plain), 64)
        ]
    item = np.arange(n_items, dtype=np.int64)
    return Features(np.concatenate(chunks).astype(np.float32), item, np.zeros_like(item), maps.seconds)
