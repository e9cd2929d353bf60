"""Optional fine-tuning (`--fine-tune`): after the head has converged on frozen features, train the
backbone's last stage together with the head on augmented images, at a tenth of the head's learning rate.

Batch-norm statistics stay frozen (the backbone runs in eval mode): with a few hundred images, updating
them would undo what ImageNet taught the earlier layers. The fine-tuned weights are kept only if they
lower the validation loss; the figures are then recomputed from the new backbone's embeddings.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn
from tqdm import tqdm

from scalpcheck.data.transforms import eval_transform, load_rgb, train_transform
from scalpcheck.learn.backbones import embed
from scalpcheck.learn.compare import Candidate, score
from scalpcheck.learn.dataset import PreparedData
from scalpcheck.learn.features import extract
from scalpcheck.learn.head import class_weights
from scalpcheck.learn.results import FineTuning

PATIENCE = 2
LR_FACTOR = 0.1  # backbone and head learning rate relative to the tuned head's


def _unfreeze_last_stage(model: nn.Module, stage: tuple[str, ...]) -> list[nn.Parameter]:
    params = []
    for name, module in model.named_modules():
        inside = any(name == s or name.startswith(f"{s}.") for s in stage)
        for p in module.parameters(recurse=False):
            p.requires_grad_(inside)
            if inside:
                params.append(p)
    if not params:
        raise RuntimeError(f"no parameters under {stage}: the backbone registry names the wrong stage")
    return params


def _batches(indices: list[int], size: int, generator: torch.Generator):
    order = torch.randperm(len(indices), generator=generator).tolist()
    for start in range(0, len(order), size):
        yield [indices[k] for k in order[start : start + size]]


def _val_loss(backbone: nn.Module, head: nn.Module, images: torch.Tensor, y: torch.Tensor) -> float:
    head.eval()
    with torch.inference_mode():
        embedding = embed(backbone, images)
        return float(nn.functional.cross_entropy(head(embedding), y))


def fine_tune(
    candidate: Candidate, data: PreparedData, seed: int, epochs: int, progress: bool = False
) -> FineTuning:
    """Fine-tune `candidate` in place; returns what happened (also kept in its figures)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    backbone, head, params = candidate.network, candidate.trained.head, candidate.trained.params
    backbone.eval()  # frozen batch-norm statistics; gradients still flow through the unfrozen stage
    trainable = _unfreeze_last_stage(backbone, candidate.backbone.last_stage) + list(head.parameters())
    optimiser = torch.optim.AdamW(trainable, lr=params.lr * LR_FACTOR, weight_decay=params.weight_decay)
    weights = torch.as_tensor(
        class_weights(data.y[data.split["train"]], len(data.labels)), dtype=torch.float32
    )
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=params.label_smoothing)
    augment = train_transform(candidate.pre)
    plain = eval_transform(candidate.pre)
    val_idx = data.split["val"]
    val_images = torch.stack([plain(load_rgb(data.items[i].path)) for i in val_idx])
    val_y = torch.as_tensor(data.y[val_idx])
    best_loss = before = _val_loss(backbone, head, val_images, val_y)
    best_state = copy.deepcopy((backbone.state_dict(), head.state_dict()))
    stale, epochs_run = 0, 0
    for _epoch in tqdm(
        range(epochs), desc=f"{candidate.name} fine-tuning", unit="epoch", disable=not progress
    ):
        head.train()
        for batch in _batches(data.split["train"], params.batch_size, generator):
            x = torch.stack([augment(load_rgb(data.items[i].path)) for i in batch])
            embedding = embed(backbone, x)
            loss = loss_fn(head(embedding), torch.as_tensor(data.y[batch]))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        epochs_run += 1
        loss = _val_loss(backbone, head, val_images, val_y)
        if loss < best_loss - 1e-6:
            best_loss, stale = loss, 0
            best_state = copy.deepcopy((backbone.state_dict(), head.state_dict()))
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    backbone.load_state_dict(best_state[0])
    head.load_state_dict(best_state[1])
    for p in backbone.parameters():
        p.requires_grad_(False)
    head.eval()
    outcome = FineTuning(
        epochs=epochs_run, val_loss_before=before, val_loss_after=best_loss, kept=best_loss < before
    )
    candidate.fine_tuned = outcome
    if outcome.kept:
        candidate.features = extract(
            backbone, data.items, candidate.pre, {}, seed, progress, desc=f"{candidate.name} re-extraction"
        )
        score(candidate, data)  # cross-validation figures stay those of the frozen backbone
    else:
        candidate.figures = replace(candidate.scored, fine_tuned=outcome)
    return outcome
