"""Export a trained model as a bundle (see scalpcheck.bundle): the ONNX graph, the head, OOD statistics, card.

The ONNX graph is the backbone base and the head in one: input `image` [N, 3, H, W] with a dynamic batch,
outputs `logits`, `embedding` and `feature_map`. It is exported with torch's dynamo exporter, checked with
onnx.checker, and compared with the torch model in ONNX Runtime before the bundle is accepted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from scalpcheck import __version__, bundle, onnx_session
from scalpcheck.learn.backbones import FeatureModel
from scalpcheck.preprocess import Preprocess
from scalpcheck.tasks import Task

OPSET = 18
PARITY_TOLERANCE = 1e-4  # max |logits(ONNX Runtime) - logits(torch)|
OUTPUTS = ("logits", "embedding", "feature_map")


class ExportError(RuntimeError):
    """The exported graph does not reproduce the torch model."""


def trace_to_onnx(module: nn.Module, input_size: int, target, outputs: tuple[str, ...]) -> None:
    """Trace `module` (input `image` [N, 3, S, S]) to ONNX at `target` (a path or a binary file object)
    with a dynamic batch dimension.

    The TorchScript-based exporter (dynamo=False) is used on purpose: for these plain CNNs it writes the
    same graph as the dynamo exporter (ONNX Runtime runs both equally fast) in a fraction of a second
    instead of several, which keeps `make run` and the tests quick. Parity is checked on export.
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
            input_names=["image"],
            output_names=list(outputs),
            opset_version=OPSET,
            dynamic_axes={"image": batch, **{name: batch for name in outputs}},
        )


def export_onnx(model: FeatureModel, input_size: int, path: Path) -> None:
    """The bundle's model.onnx, validated with onnx.checker."""
    import onnx

    trace_to_onnx(model, input_size, str(path), OUTPUTS)
    onnx.checker.check_model(str(path))


def onnx_parity(onnx_path: Path, model: FeatureModel, images: torch.Tensor) -> float:
    """Max |logits difference| between ONNX Runtime and torch on `images` [N, 3, H, W]."""
    session = onnx_session.create(onnx_path)
    (onnx_logits,) = session.run(["logits"], {"image": images.numpy().astype(np.float32)})
    with torch.inference_mode():
        torch_logits = model.eval()(images)[0].numpy()
    return float(np.abs(onnx_logits - torch_logits).max())


def model_version(task: str, fingerprint: str, created: datetime) -> str:
    return f"{task}-{created.strftime('%Y%m%dT%H%M%S')}-{fingerprint[:8]}"


def make_card(
    *,
    task: Task,
    pre: Preprocess,
    backbone: dict,
    temperature: float,
    ood: dict,
    metrics: dict,
    data: dict,
    synthetic: bool,
    created: datetime | None = None,
) -> dict:
    """card.json: everything needed to use and judge the model (every key of bundle.REQUIRED_KEYS)."""
    created = created or datetime.now(UTC)
    card = {
        "format_version": bundle.FORMAT_VERSION,
        "model_version": model_version(task.name, data["fingerprint"], created),
        "task": task.name,
        "title": task.title,
        "ordinal": task.ordinal,
        "classes": [{"label": label, "display_name": task.display_name(label)} for label in task.labels],
        "input_size": pre.input_size,
        "preprocess": pre.to_card(),
        "backbone": backbone,
        "temperature": float(temperature),
        "ood": ood,
        "metrics": metrics,
        "data": data,
        "created_at": created.isoformat(timespec="seconds"),
        "scalpcheck_version": __version__,
        "synthetic_data": bool(synthetic),
    }
    missing = [k for k in bundle.REQUIRED_KEYS if k not in card]
    if missing:  # the bundle contract grew a key this exporter does not write yet
        raise ExportError(f"card lacks {', '.join(missing)}")
    return card


def write_bundle(
    out_dir: Path,
    model: FeatureModel,
    card: dict,
    ood_stats: dict[str, np.ndarray],
    check_images: torch.Tensor,
) -> Path:
    """Write the bundle folder `out_dir` atomically (built beside it, renamed into place).

    `check_images` (a few preprocessed inputs) are run through both torch and ONNX Runtime; a logits
    difference above PARITY_TOLERANCE aborts the export and leaves nothing behind.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a serving worker under another user must read it
    try:
        onnx_path = staging / bundle.MODEL_FILE
        export_onnx(model, card["input_size"], onnx_path)
        difference = onnx_parity(onnx_path, model, check_images)
        if difference > PARITY_TOLERANCE:
            raise ExportError(f"ONNX logits differ from torch by {difference:.2e} (> {PARITY_TOLERANCE})")
        card = {**card, "export": {"opset": OPSET, "parity_max_abs_logit_diff": difference}}
        np.savez(staging / bundle.HEAD_FILE, **model.head.to_arrays())
        np.savez(staging / bundle.OOD_FILE, **ood_stats)
        (staging / bundle.CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
        bundle.read_card(staging)  # the serving side's own check of the finished folder
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
