"""INT8 quantisation of a training run's bundle, kept only when it is as accurate as the float model.

ONNX Runtime's static quantisation (QDQ format, weights per channel, activations calibrated on the run's
training photos) of the backbone's convolutions. The head, the pooling and the graph's three outputs stay
float32: Grad-CAM differentiates head.npz at the embedding, and the bundle's own check (serving runs
head.npz against the graph's logits) stays exact.

The quantised backbone moves embeddings a little, so the out-of-distribution reference set is fitted
again on the INT8 embeddings of the training photos, and its threshold chosen again on the validation
photos, as training does. Accuracy is compared on the run's test split, through both graphs; the INT8
bundle is written only when it loses at most MAX_ACCURACY_DROP of FP32's test accuracy.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from scalpcheck import bundle, onnx_session, ood
from scalpcheck.card import Card, CardMetrics, QuantizationInfo, ValidationScores
from scalpcheck.confidence import probabilities
from scalpcheck.errors import UsageError
from scalpcheck.evaluation import Scores, chance_ece, evaluate
from scalpcheck.metrics import softmax
from scalpcheck.preprocess import preprocess

MAX_ACCURACY_DROP = 0.01  # one point of test accuracy
CALIBRATION_IMAGES = 128
# Convolutions with their activations (folded into the quantisation ranges) and the residual additions.
QUANTIZED_OPS = ("Conv", "Clip", "Relu", "Add")

Outputs = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (logits, embeddings)


@dataclass
class QuantizeResult:
    fp32_test: Scores
    int8_test: Scores
    top1_agreement: float  # share of test photos with the same top class in both graphs
    kept: bool
    bundle_dir: Path | None  # the INT8 bundle, when kept

    @property
    def accuracy_change_points(self) -> float:
        return (self.int8_test.accuracy - self.fp32_test.accuracy) * 100


def quantize_run(run_dir: str | Path, out_dir: str | Path) -> QuantizeResult:
    """Quantise `run_dir/bundle` (a `scalpcheck train` run) into `out_dir` if it stays as accurate."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    source = run_dir / "bundle"
    try:
        card = bundle.read_card(source)
    except bundle.BundleError as exc:
        raise UsageError(f"{run_dir} is not a training run with a bundle: {exc}") from exc
    images = _split_images(run_dir, card)
    truth = {split: y for split, (_, y) in images.items()}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=out_dir.parent) as tmp:
        int8_model = Path(tmp) / bundle.MODEL_FILE
        _quantize(source / bundle.MODEL_FILE, int8_model, images["train"][0][:CALIBRATION_IMAGES], tmp)
        fp32 = _outputs(source / bundle.MODEL_FILE, images)
        int8 = _outputs(int8_model, images)

        def scores(outputs: Outputs, split: str = "test", calibrated: bool = True) -> Scores:
            logits = outputs[split][0]
            proba = (
                probabilities(logits, card.temperature, card.confidence_map)
                if calibrated
                else softmax(logits)
            )
            return evaluate(truth[split], proba, card.labels, ordinal=card.ordinal, n_boot=0).assessed_scores

        fp32_test, int8_test = scores(fp32), scores(int8)
        agreement = float((fp32["test"][0].argmax(1) == int8["test"][0].argmax(1)).mean())
        kept = int8_test.accuracy >= fp32_test.accuracy - MAX_ACCURACY_DROP - 1e-9
        bundle_dir = None
        if kept:
            val = scores(int8, "val")
            metrics = replace(
                card.metrics,
                **vars(int8_test),
                ci95=None,  # the bootstrap intervals were the float model's
                ece_uncalibrated=scores(int8, calibrated=False).ece,
                ece_if_calibrated=chance_ece(
                    probabilities(int8["test"][0], card.temperature, card.confidence_map)
                ),
                validation=ValidationScores(
                    accuracy=val.accuracy, f1_macro=val.f1_macro, log_loss=val.log_loss, ece=val.ece
                ),
            )
            quantization = QuantizationInfo(
                format="ONNX QDQ, int8 weights per channel, uint8 activations",
                calibration_images=min(len(truth["train"]), CALIBRATION_IMAGES),
                quantized_ops=QUANTIZED_OPS,
                fp32_test_accuracy=fp32_test.accuracy,
                int8_test_accuracy=int8_test.accuracy,
                test_top1_agreement=agreement,
                from_model_version=card.model_version,
            )
            bundle_dir = _write_bundle(source, int8_model, card, int8, metrics, quantization, out_dir)
    return QuantizeResult(fp32_test, int8_test, agreement, kept, bundle_dir)


def _split_images(run_dir: Path, card: Card) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (preprocessed images [N, 3, S, S], class indices [N])} from the run's split.csv."""
    from scalpcheck.data.transforms import load_rgb

    try:
        data_root = Path(yaml.safe_load((run_dir / "args.yaml").read_text())["data"])
        with open(run_dir / "split.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, KeyError, TypeError) as exc:
        raise UsageError(f"{run_dir}: cannot read the run's args.yaml and split.csv ({exc})") from exc
    pre, labels = card.preprocess, list(card.labels)
    out = {}
    for split in ("train", "val", "test"):
        chosen = [r for r in rows if r["split"] == split]
        if not chosen:
            raise UsageError(f"{run_dir}/split.csv has no {split} images")
        try:
            x = np.stack([preprocess(load_rgb(data_root / r["path"]), pre) for r in chosen])
        except OSError as exc:
            raise UsageError(f"the run's data in {data_root} are no longer readable: {exc}") from exc
        out[split] = (x, np.array([labels.index(r["label"]) for r in chosen]))
    return out


def _quantize(model: Path, target: Path, calibration: np.ndarray, scratch: str) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Photos(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(calibration[i : i + 1] for i in range(len(calibration)))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {"image": batch}

    prepared = Path(scratch) / "prepared.onnx"
    quant_pre_process(str(model), str(prepared))  # shape inference and graph clean-up, as ORT advises
    quantize_static(
        str(prepared),
        str(target),
        Photos(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=list(QUANTIZED_OPS),
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )


def _outputs(model: Path, images: dict) -> Outputs:
    """{split: (logits, the gate's embeddings)}, one photo at a time as serving runs them."""
    session = onnx_session.create(model)
    names = {o.name for o in session.get_outputs()}
    gate = bundle.REFERENCE if bundle.REFERENCE in names else "embedding"
    out = {}
    for split, (x, _) in images.items():
        runs = [session.run(["logits", gate], {bundle.INPUT: x[i : i + 1]}) for i in range(len(x))]
        out[split] = (np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs]))
    return out


def _write_bundle(
    source: Path,
    int8_model: Path,
    card: Card,
    int8: Outputs,
    metrics: CardMetrics,
    quantization: QuantizationInfo,
    out_dir: Path,
) -> Path:
    """The INT8 bundle, with the out-of-distribution reference fitted again on its own embeddings."""
    from scalpcheck.serve.model import LoadedModel

    stats, ood_info = ood.fit_gate(
        int8["train"][1], int8["val"][1], int8["test"][1], card.ood.accept_rate_target, leave_one_out=True
    )
    new_card = replace(
        card,
        model_version=f"{card.model_version}-int8",
        metrics=metrics,
        ood=ood_info,
        quantization=quantization,
    )
    with np.load(source / bundle.HEAD_FILE) as arrays:
        head = dict(arrays)
    density = None
    if card.density is not None:  # the regression reads the INT8 graph's embedding as it read the FP32 one's
        with np.load(source / bundle.DENSITY_FILE) as arrays:
            density = dict(arrays)
    model = int8_model.read_bytes()
    return bundle.write(out_dir, new_card, model, head, stats, check=LoadedModel.load, density=density)
