"""Photos from a source the model is not trained on: what calibrates it, and what tests it.

`--calibrate-on DIR`: the temperature and the refusal threshold are fitted on DIR, photos from another
source (another camera, clinic or phantom style), because both must hold for photos unlike the training
set: fitted on the validation split, a model is as sure of a new source's photos as of its own, and a
threshold set there refuses many of them. `--shift-test DIR`: the exported bundle is evaluated on DIR
through the serving path, gate included, by subgroup; the card and the report carry the figures.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalpcheck import ood
from scalpcheck.data.attributes import number, shot
from scalpcheck.data.catalog import scan
from scalpcheck.data.transforms import load_rgb
from scalpcheck.errors import UsageError
from scalpcheck.evaluation import ShiftReport, StyleFold, evaluate
from scalpcheck.learn.backbones import FeatureModel
from scalpcheck.learn.calibrate import fit_temperature
from scalpcheck.learn.dataset import PreparedData
from scalpcheck.metrics import softmax
from scalpcheck.preprocess import Preprocess, preprocess

if TYPE_CHECKING:
    from scalpcheck.learn.compare import Candidate

BATCH = 32
STYLE_COLUMN = "style"  # the manifest column --shift leaves out one value of at a time


@dataclass(frozen=True)
class Source:
    """A labelled set of photos from another source, run through the trained network."""

    root: Path
    y: np.ndarray  # class indices
    logits: np.ndarray  # [N, K]
    embeddings: np.ndarray  # [N, D] what the refusal gate scores
    groups: dict[str, list[str]]  # its manifest's subgroups
    features: np.ndarray  # [N, D] the embedding the head reads (and the density regression)
    density: np.ndarray  # [N] true densities from its manifest, NaN where unknown
    scalps: list[str]  # the manifest's scalp_id ("" where none): re-shoots of one scalp share it
    shots: list[int]


def network_outputs(
    model: FeatureModel, images, pre: Preprocess
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, the gate's embeddings (the reference output where the network has one) and the head's
    embeddings of PIL images' plain views through the whole network, in batches."""
    logits, gate, embeddings = [], [], []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), BATCH):
            x = torch.from_numpy(np.stack([preprocess(img, pre) for img in images[start : start + BATCH]]))
            out = model(x)
            logits.append(out[0].numpy().astype(np.float64))
            gate.append(out[-1].numpy() if len(out) == 4 else out[1].numpy())
            embeddings.append(out[1].numpy())
    return np.concatenate(logits), np.concatenate(gate), np.concatenate(embeddings)


def load_source(root: Path, data: PreparedData, model: FeatureModel, pre: Preprocess, what: str) -> Source:
    """`root`'s photos through the network; a UsageError naming `what` when they do not fit the task."""
    catalog = scan(root, data.catalog.task.name)
    unknown = sorted({i.label for i in catalog.items} - set(data.labels))
    if unknown:
        raise UsageError(f"{what} {root}: label {unknown[0]!r} is not a class of the task")
    if catalog.root == data.catalog.root:
        raise UsageError(f"{what} {root} is the training data; give photos from another source")
    logits, gate, features = network_outputs(model, [load_rgb(i.path) for i in catalog.items], pre)
    y = np.array([data.labels.index(i.label) for i in catalog.items], dtype=np.int64)
    rows = [catalog.attributes_of(i) for i in catalog.items]
    return Source(
        catalog.root,
        y,
        logits,
        gate,
        catalog.groups(catalog.items),
        features,
        np.array([number(r.get("density")) for r in rows]),
        [r.get("scalp_id", "") for r in rows],
        [shot(r) for r in rows],
    )


def check_source(root: Path | None, what: str) -> None:
    """Before anything is written: the folder exists and holds a labelled dataset."""
    if root is not None:
        scan(root)  # raises UsageError for a missing, empty or unlabelled folder
        if not Path(root).is_dir():
            raise UsageError(f"{what} {root}: not a folder")


def leave_one_style_out(
    best: Candidate, data: PreparedData, *, fine_tune: bool, epochs: int, seed: int
) -> tuple[ShiftReport, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each style in turn left out of training (the recipe of `best` with its tuned head parameters), then
    tested on. Returns the report, and every image's out-of-style (logits, labels, gate scores): the final
    model's temperature and refusal threshold are fitted on those."""
    from scalpcheck.learn.head import predict_logits, train_head
    from scalpcheck.learn.tail import fine_tune as tune_tail

    styles = np.array(data.groups(range(len(data.items))).get(STYLE_COLUMN, []))
    names = sorted(set(styles.tolist()))
    if len(names) < 2:
        raise UsageError(
            f"--shift needs a manifest.csv whose `{STYLE_COLUMN}` column names two styles or more"
        )
    task = data.catalog.task
    logits = np.zeros((len(data.items), len(data.labels)))
    proba = np.zeros_like(logits)
    scores = np.zeros(len(data.items))
    folds = []
    for style in names:
        others = {k: [i for i in v if styles[i] != style] for k, v in data.split.items()}
        fold_data = replace(data, split=others)
        x, item = best.features.training_views(others["train"])
        head = train_head(
            x,
            data.y[item],
            best.features.plain(others["val"]),
            data.y[others["val"]],
            len(data.labels),
            best.trained.params,
            seed=seed,
        )
        fold = replace(best, model=copy.deepcopy(best.network), trained=head, logits={}, figures=None)
        if fine_tune:
            tune_tail(fold, fold_data, seed=seed, epochs=epochs)
        held = [int(i) for i in np.flatnonzero(styles == style)]

        def outputs(idx, fold=fold):
            return predict_logits(fold.trained.head, fold.features.plain(idx))

        t = fit_temperature(outputs(others["val"]), data.y[others["val"]])
        logits[held] = outputs(held)
        proba[held] = softmax(logits[held], t)
        gate = fold.gate_features
        stats = ood.fit(gate.plain(others["train"]))
        threshold = ood.choose_threshold(stats, gate.plain(others["val"]))
        scores[held] = ood.score(stats, gate.plain(held))
        test = others["test"]
        folds.append(
            StyleFold(
                style=style,
                in_style=evaluate(
                    data.y[test], softmax(outputs(test), t), task.labels, ordinal=task.ordinal, n_boot=1000
                ),
                out_of_style=evaluate(
                    data.y[held],
                    proba[held],
                    task.labels,
                    ordinal=task.ordinal,
                    groups=data.groups(held),
                    n_boot=1000,
                ),
                accepted=float((scores[held] <= threshold).mean()),
            )
        )
    pooled = evaluate(
        data.y, proba, task.labels, ordinal=task.ordinal, groups=data.groups(range(len(data.items)))
    )
    return ShiftReport(attribute=STYLE_COLUMN, folds=folds, pooled=pooled), (logits, data.y, scores)
