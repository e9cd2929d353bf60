"""Model latency per backbone: eager PyTorch against the exported graph in ONNX Runtime.

Both run the same network (random weights: speed does not depend on their values) on the same input, in the
same process, with every core: eager PyTorch as a Flask view usually runs it (model.eval(),
torch.inference_mode()), and the bundle's model.onnx through scalpcheck.onnx_session, whose options the
serving path uses. Milliseconds per batch, the median of many runs after a warm-up. For EfficientNet-Lite0 the
model serving actually runs is measured too: the demo scalp bundle as `make run` publishes it, INT8 when
quantisation kept its test accuracy (bench_quant), FP32 otherwise; the 4x target (TARGET_RATIO) applies to
that path, and the FP32 graph's own ratio stays in the table beside it. A last comparison sets serving's
session options (idle threads sleep, so that workers sharing the cores do not steal them) against ONNX
Runtime's defaults (spinning threads) in this one process, where spinning can only help.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench import Row, row

BATCHES = (1, 8)
TARGET_RATIO = 4.0  # EfficientNet-Lite0 at batch 1: the served graph at least 4x faster than eager


def _median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _model(name: str, path):
    import torch

    from scalpcheck.learn.backbones import FeatureModel, get
    from scalpcheck.learn.export import export_onnx
    from scalpcheck.learn.head import Head

    backbone = get(name)
    torch.manual_seed(0)
    model = FeatureModel(backbone.create(), Head(backbone.feature_dim, 4, 128, 0.3)).eval()
    path.write_bytes(export_onnx(model, backbone.preprocess().input_size))
    return model, backbone.preprocess().input_size


def _measure(ctx, name: str) -> list[Row]:
    import onnxruntime as ort
    import torch

    from scalpcheck import onnx_session

    path = ctx.workdir / f"{name}.onnx"
    model, size = _model(name, path)
    session = onnx_session.create(path)
    heavy = name.startswith("vgg") or name == "resnet50"
    rows = []
    for batch in BATCHES:
        x = np.random.default_rng(batch).normal(size=(batch, 3, size, size)).astype(np.float32)
        xt = torch.from_numpy(x)
        repeats = (5 if heavy else 15) if ctx.quick else (10 if heavy else 40)

        def eager(xt=xt):
            with torch.inference_mode():
                model(xt)

        eager_ms = _median_ms(eager, repeats)
        onnx_ms = _median_ms(lambda x=x: session.run(None, {"image": x}), repeats)
        r = row(
            "model",
            f"{name}, batch {batch}: ONNX Runtime",
            onnx_ms,
            "ms",
            baseline=eager_ms,
            baseline_name="eager PyTorch",
            higher_is_better=False,
        )
        rows.append(r)
        print(f"  {name} batch {batch}: eager {eager_ms:.1f} ms, onnx {onnx_ms:.1f} ms", flush=True)
        if name == "efficientnet_lite0" and batch == 1:
            rows.append(_served_row(eager_ms, size, repeats))
    if name == "efficientnet_lite0":
        x = np.zeros((1, 3, size, size), np.float32)
        plain = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        repeats = 20 if ctx.quick else 60
        rows.append(
            row(
                "model",
                "efficientnet_lite0, batch 1: scalpcheck session options",
                _median_ms(lambda: session.run(None, {"image": x}), repeats),
                "ms",
                baseline=_median_ms(lambda: plain.run(None, {"image": x}), repeats),
                baseline_name="ONNX Runtime defaults",
                higher_is_better=False,
            )
        )
    return rows


def _served_row(eager_ms: float, size: int, repeats: int) -> Row:
    """The model serving actually runs for the scalp task (`make run`'s demo bundle: INT8 where it is as
    accurate as FP32 on the test split, see bench_quant), against the same eager batch-1 figure."""
    from bench.server import models_home
    from scalpcheck import onnx_session
    from scalpcheck.bundle import MODEL_FILE, read_card

    bundle_dir = models_home() / "models" / "scalp"
    kind = "INT8" if read_card(bundle_dir).quantization else "FP32"
    session = onnx_session.create(bundle_dir / MODEL_FILE)
    x = np.random.default_rng(1).normal(size=(1, 3, size, size)).astype(np.float32)
    served_ms = _median_ms(lambda: session.run(None, {"image": x}), repeats)
    print(f"  efficientnet_lite0 batch 1: served scalp model ({kind}) {served_ms:.1f} ms", flush=True)
    return row(
        "model",
        f"efficientnet_lite0, batch 1: the served ONNX model ({kind}, the demo scalp bundle)",
        served_ms,
        "ms",
        baseline=eager_ms,
        baseline_name="eager PyTorch",
        higher_is_better=False,
        target_ratio=TARGET_RATIO,
    )


def run(ctx) -> list[Row]:
    import torch

    from scalpcheck.learn.backbones import BACKBONES

    torch.set_num_threads(os.cpu_count() or 1)
    names = ["efficientnet_lite0"] if ctx.quick else list(BACKBONES)
    return [r for name in names for r in _measure(ctx, name)]
