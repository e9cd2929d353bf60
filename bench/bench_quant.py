"""INT8 quantisation of the demo models: speed and accuracy against FP32.

scalpcheck.learn.quantize.quantize_run on each demo training run (bench.server.models_home): test-split
accuracy of both graphs, and the share of test photos on which they agree; then the latency of one photo
through each graph, one ONNX Runtime thread as a serving worker runs it (scalpcheck.gunicorn_conf), and
whether real photos that are not scalps (scikit-image's, as tests/serve use them) are still refused.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import Row, row
from bench.server import models_home

NOT_SCALPS = ("chelsea", "coffee", "astronaut", "rocket", "retina", "immunohistochemistry", "brick", "camera")


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _median_ms(session, x: np.ndarray, repeats: int) -> float:
    for _ in range(5):
        session.run(None, {"image": x})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"image": x})
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _refused(bundle_dir: Path) -> int:
    """How many of NOT_SCALPS the bundle refuses as not a scalp."""
    import io

    import skimage.data
    from PIL import Image

    from scalpcheck.errors import ImageRejected
    from scalpcheck.serve import Assessor

    assessor = Assessor.from_bundle(bundle_dir, 50 * 2**20)
    (task,) = assessor.models
    refused = 0
    for name in NOT_SCALPS:
        buffer = io.BytesIO()
        Image.fromarray(getattr(skimage.data, name)()).convert("RGB").save(buffer, "JPEG", quality=92)
        try:
            assessor.assess(buffer.getvalue(), task)
        except ImageRejected as exc:
            refused += exc.code == "not_a_scalp_image"
    return refused


def run(ctx) -> list[Row]:
    from scalpcheck import onnx_session
    from scalpcheck.bundle import MODEL_FILE
    from scalpcheck.learn.quantize import MAX_ACCURACY_DROP, quantize_run

    repeats = 30 if ctx.quick else 200
    rows = []
    for task in ("scalp", "hairloss"):
        run_dir = max((models_home() / "runs" / task).glob("train*"), key=lambda p: int(p.name[5:]))
        result = quantize_run(run_dir, ctx.workdir / f"{task}-int8")
        fp32_acc, int8_acc = result.fp32_test.accuracy * 100, result.int8_test.accuracy * 100
        _say(
            f"{task}: test accuracy FP32 {fp32_acc:.1f} %, INT8 {int8_acc:.1f} % "
            f"({result.fp32_test.n} photos), agreement {result.top1_agreement:.1%}, kept: {result.kept}"
        )
        acc = row(
            "int8",
            f"{task}: test accuracy of the INT8 model ({result.fp32_test.n} photos)",
            int8_acc,
            "%",
            baseline=fp32_acc,
            baseline_name="FP32",
        )
        # The pass mark is the quantiser's own keep decision, not a bound row() could recompute.
        rows.append(replace(acc, target=f">= FP32 - {MAX_ACCURACY_DROP * 100:g} point", passed=result.kept))
        rows.append(
            row("int8", f"{task}: same top class as FP32 on the test split", result.top1_agreement * 100, "%")
        )
        if not result.kept:
            continue
        fp32_path = run_dir / "bundle" / MODEL_FILE
        x = np.random.default_rng(0).normal(size=(1, 3, 224, 224)).astype(np.float32)
        int8_ms = _median_ms(onnx_session.create(result.bundle_dir / MODEL_FILE, threads=1), x, repeats)
        fp32_ms = _median_ms(onnx_session.create(fp32_path, threads=1), x, repeats)
        rows.append(
            row(
                "int8",
                f"{task}: ONNX Runtime, batch 1, 1 thread",
                int8_ms,
                "ms",
                baseline=fp32_ms,
                baseline_name="FP32",
                higher_is_better=False,
            )
        )
        rows.append(
            row(
                "int8",
                f"{task}: real photos that are not scalps refused (of {len(NOT_SCALPS)})",
                _refused(result.bundle_dir),
                "",
                baseline=_refused(run_dir / "bundle"),
                baseline_name="FP32",
                target=len(NOT_SCALPS),
            )
        )
    return rows
