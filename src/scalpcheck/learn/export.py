"""Export a trained model as a bundle (see scalpcheck.bundle): the ONNX graph, the head, OOD statistics, card.

The ONNX graph is the backbone base and the head in one: input `image` [N, 3, H, W] with a dynamic batch,
outputs `logits`, `embedding` and `feature_map`. It is traced by torch's TorchScript-based exporter, checked
with onnx.checker, and compared with the torch model in ONNX Runtime before the bundle is accepted.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from scalpcheck import __version__, bundle, onnx_session
from scalpcheck.card import (
    FORMAT_VERSION,
    BackboneInfo,
    Card,
    CardMetrics,
    ClassInfo,
    ConfidenceMap,
    DataInfo,
    DensityInfo,
    ExportInfo,
    OodInfo,
)
from scalpcheck.learn.backbones import FeatureModel
from scalpcheck.preprocess import Preprocess
from scalpcheck.tasks import Task

OPSET = 18
PARITY_TOLERANCE = 1e-4  # max |logits(ONNX Runtime) - logits(torch)|


class ExportError(RuntimeError):
    """The exported graph does not reproduce the torch model."""


def trace_to_onnx(module: nn.Module, input_size: int, target, outputs: tuple[str, ...]) -> None:
    """Trace `module` (input `image` [N, 3, S, S]) to ONNX at `target` (a path or a binary file object)
    with a dynamic batch dimension.

    The TorchScript-based exporter (dynamo=False) is used on purpose: for these plain CNNs it writes the
    same graph as the dynamo exporter, much faster, which keeps `make run` and the tests quick. Parity is
    checked on export.
    """
    module = module.eval()
    example = torch.zeros(2, 3, input_size, input_size)
    batch = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracing chatter is not for users
        torch.onnx.export(
            module,
            (example,),
            target,
            dynamo=False,
            input_names=[bundle.INPUT],
            output_names=list(outputs),
            opset_version=OPSET,
            dynamic_axes={bundle.INPUT: batch, **{name: batch for name in outputs}},
        )


def export_onnx(model: FeatureModel, input_size: int) -> bytes:
    """The bundle's model.onnx, validated with onnx.checker."""
    import onnx

    buffer = io.BytesIO()
    trace_to_onnx(model, input_size, buffer, model.outputs)
    graph = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(graph))
    return graph


def onnx_parity(graph: bytes, model: FeatureModel, images: torch.Tensor) -> float:
    """Max |logits difference| between ONNX Runtime and torch on `images` [N, 3, H, W]."""
    session = onnx_session.create(graph)
    (onnx_logits,) = session.run(["logits"], {bundle.INPUT: images.numpy().astype(np.float32)})
    with torch.inference_mode():
        torch_logits = model.eval()(images)[0].numpy()
    return float(np.abs(onnx_logits - torch_logits).max())


def model_version(task: str, fingerprint: str, created: datetime) -> str:
    return f"{task}-{created.strftime('%Y%m%dT%H%M%S')}-{fingerprint[:8]}"


def make_card(
    *,
    task: Task,
    pre: Preprocess,
    backbone: BackboneInfo,
    temperature: float,
    ood: OodInfo,
    confidence_map: ConfidenceMap | None = None,
    metrics: CardMetrics,
    data: DataInfo,
    synthetic: bool,
    created: datetime | None = None,
    density: DensityInfo | None = None,
) -> Card:
    created = created or datetime.now(UTC)
    return Card(
        format_version=FORMAT_VERSION,
        model_version=model_version(task.name, data.fingerprint, created),
        task=task.name,
        title=task.title,
        ordinal=task.ordinal,
        classes=tuple(ClassInfo(label=label, display_name=task.display_name(label)) for label in task.labels),
        preprocess=pre,
        backbone=backbone,
        temperature=float(temperature),
        confidence_map=confidence_map,
        ood=ood,
        metrics=metrics,
        data=data,
        created_at=created.isoformat(timespec="seconds"),
        scalpcheck_version=__version__,
        synthetic_data=bool(synthetic),
        density=density,
    )


def write_bundle(
    out_dir: Path,
    model: FeatureModel,
    card: Card,
    ood_stats: dict[str, np.ndarray],
    check_images: torch.Tensor,
    density: dict[str, np.ndarray] | None = None,
) -> Path:
    """Export the model and write its bundle `out_dir` (scalpcheck.bundle.write), checked as serving loads it.

    `check_images` (a few preprocessed inputs) are run through both torch and ONNX Runtime; a logits
    difference above PARITY_TOLERANCE aborts the export and leaves nothing behind.
    """
    from scalpcheck.serve.model import LoadedModel

    graph = export_onnx(model, card.input_size)
    difference = onnx_parity(graph, model, check_images)
    if difference > PARITY_TOLERANCE:
        raise ExportError(f"ONNX logits differ from torch by {difference:.2e} (> {PARITY_TOLERANCE})")
    card = replace(card, export=ExportInfo(opset=OPSET, parity_max_abs_logit_diff=difference))
    head = model.head.to_arrays()
    return bundle.write(out_dir, card, graph, head, ood_stats, check=LoadedModel.load, density=density)


def untrained_bundle(
    out_dir: Path,
    task: Task,
    *,
    seed: int = 0,
    references: np.ndarray | None = None,
    threshold: float = 1e9,
    hidden: int = 32,
) -> Path:
    """A bundle of the right architecture with random weights, marked as not pretrained.

    Tests and benchmarks run every serving code path on it without training; it predicts nothing, and the
    default threshold accepts every photo. `references` [N, D] are the out-of-distribution reference
    embeddings (by default a few random inputs' embeddings).
    """
    from scalpcheck import ood
    from scalpcheck.evaluation import scores
    from scalpcheck.learn import backbones
    from scalpcheck.learn.head import Head

    torch.manual_seed(seed)
    backbone = backbones.get("efficientnet_lite0")
    model = FeatureModel(backbone.create(), Head(backbone.feature_dim, len(task.labels), hidden, 0.3)).eval()
    pre = backbone.preprocess()
    probe = torch.randn(6, 3, pre.input_size, pre.input_size, generator=torch.Generator().manual_seed(seed))
    if references is None:
        with torch.inference_mode():
            references = model(probe)[1].numpy()
    uniform = np.full((len(task.labels), len(task.labels)), 1 / len(task.labels))
    card = make_card(
        task=task,
        pre=pre,
        backbone=BackboneInfo(name=backbone.name, weights_source="random init", pretrained=False),
        temperature=1.5,
        ood=OodInfo(method=ood.METHOD, threshold=threshold, heldout_accept_rate=1.0),
        metrics=CardMetrics(**vars(scores(np.arange(len(task.labels)), uniform, task.labels, task.ordinal))),
        data=DataInfo(fingerprint=f"{seed:064x}", n_images=0, counts={}),
        synthetic=True,
    )
    return write_bundle(out_dir, model, card, ood.fit(references), probe[:2])
