"""A labelled dataset sent through the serving path of a bundle, scored by the one evaluator.

Every image goes through Assessor.assess, the quality gate and the refusal of photos that are not scalps
included, so the figures are those users would get; refused images count apart, by reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from scalpcheck import records
from scalpcheck.card import Card
from scalpcheck.data.attributes import number, shot
from scalpcheck.data.catalog import Catalog, Item, fingerprint
from scalpcheck.errors import ImageRejected
from scalpcheck.evaluation import DensityScores, Evaluation, density_scores, evaluate
from scalpcheck.serve.assess import Assessor
from scalpcheck.serve.model import LoadedModel


@dataclass(frozen=True, kw_only=True)
class DataSummary:
    root: str
    layout: str
    split: str | None
    n_images: int
    synthetic: bool
    same_as_training: bool  # the fingerprint the model's card records: its figures would be optimistic


@dataclass(frozen=True)
class DatasetReport:
    bundle: Path
    card: Card
    data: DataSummary
    evaluation: Evaluation

    def to_dict(self) -> dict:
        """`scalpcheck evaluate --json`: the evaluation, with the model and the data it is about."""
        e = self.evaluation
        card = self.card
        return {
            "bundle": str(self.bundle),
            "model": {
                "task": card.task,
                "version": card.model_version,
                "backbone": card.backbone.name,
                "pretrained": card.backbone.pretrained,
                "synthetic_data": card.synthetic_data,
            },
            "data": records.to_dict(self.data),
            "assessed": e.assessed,
            "refused": e.refused,
            "refused_by_label": e.refused_by_label,
            "metrics": records.to_dict(e.scores, exclude_none=True) if e.scores else None,
            "intervals": records.to_dict(e.intervals, exclude_none=True) if e.intervals else None,
            "ece_if_calibrated": records.to_dict(e.chance_ece) if e.chance_ece else None,
            "confident_answers": e.confident_answers,
            "confident_errors": e.confident_errors,
            "subgroups": {name: records.to_dict(t) for name, t in e.subgroups.items()},
            "density": records.to_dict(e.density) if e.density else None,
        }


def evaluate_dataset(
    assessor: Assessor,
    catalog: Catalog,
    items: Sequence[Item],
    read: Callable[[Item], bytes],
    split: str | None = None,
    progress: bool = False,
) -> DatasetReport:
    """Assess every item with the assessor's one model and evaluate the results against the labels."""
    from tqdm import tqdm

    ((task, model),) = assessor.models.items()
    labels = list(model.task.labels)
    y_true: list[int] = []
    proba: list[list[float]] = []
    refused: list[str | None] = []
    readings = np.full((len(items), 3), np.nan)  # estimate, low, high
    for k, item in enumerate(tqdm(items, desc="evaluating", unit="img", disable=not progress)):
        y_true.append(labels.index(item.label))
        try:
            result = assessor.assess(read(item), task)
        except ImageRejected as exc:
            refused.append(exc.code)
            proba.append([np.nan] * len(labels))
            continue
        refused.append(None)
        proba.append([result.probabilities[label] for label in labels])
        if result.density is not None:
            readings[k] = (result.density.estimate, result.density.low, result.density.high)
    evaluation = evaluate(
        y_true,
        np.asarray(proba).reshape(len(items), len(labels)),
        labels,
        ordinal=model.task.ordinal,
        refused=refused,
        groups=catalog.groups(items),
    )
    evaluation = replace(evaluation, density=_density(model, catalog, items, readings, y_true))
    data = DataSummary(
        root=str(catalog.root),
        layout=catalog.layout,
        split=split,
        n_images=len(items),
        synthetic=catalog.synthetic,
        same_as_training=fingerprint(catalog) == model.card.data.fingerprint,
    )
    return DatasetReport(model.path, model.card, data, evaluation)


def _density(
    model: LoadedModel, catalog: Catalog, items: Sequence[Item], readings: np.ndarray, stage: list[int]
) -> DensityScores | None:
    """The density figures where the model reads densities and the dataset's manifest gives them."""
    rows = [catalog.attributes_of(i) for i in items]
    truth = np.array([number(r.get("density")) for r in rows])
    known = np.isfinite(truth) & np.isfinite(readings[:, 0])
    if model.card.density is None or not known.any():
        return None
    return density_scores(
        readings[:, 0],
        readings[:, 1],
        readings[:, 2],
        truth,
        stage=stage if model.task.ordinal else None,
        scalps=[r.get("scalp_id", "") for r in rows],
        shots=[shot(r) for r in rows],
        sdc=model.card.density.smallest_detectable_change,
    )
