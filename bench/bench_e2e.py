"""End to end over HTTP on loopback: a 12 MP phone JPEG uploaded to the API, JSON back.

Both apps are served the same way, by gunicorn with 2 sync workers, each from a fresh home (bench.server):
scalpcheck with its production settings (scalpcheck.gunicorn_conf) and the demo models as `make run`
publishes them (INT8 when as accurate), and the baseline (bench.baseline_app: full decode, eager PyTorch
on the same trained float weights, Grad-CAM by autograd; the same routes, database writes and image
store), both keeping rate-limit counters where production does (bench.server.ratelimit_storage). The
photo is bench_decode's: 4032 x 3024, EXIF with GPS and orientation 6. The full run also
measures what the INT8 models and one ONNX Runtime thread per worker buy end to end.

A closed-loop load generator in its own process (bench.loadgen) keeps 1, 4 and 8 requests in flight;
every request is POST /api/v1/assessments (decode, quality gate, model, Grad-CAM, advice, metadata
stripped, photo/overlay/thumbnail stored durably, database row) and must answer 201 with JSON. Reported:
p50/p95/p99 latency, throughput and errors, side by side with the baseline.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from bench import Row, row
from bench.bench_decode import phone_jpeg
from bench.server import (
    BASELINE_APP,
    SCALPCHECK_APP,
    Server,
    assessment_load,
    fp32_models,
    multipart,
    ratelimit_storage,
    server_home,
)

LEVELS = (1, 4, 8)
P50_TARGET_MS = 50  # concurrency 1
SPEEDUP_TARGET = 3.0  # concurrency 1, p50 against the baseline's
THROUGHPUT_TARGET = 40  # assessments per second at concurrency 8
P99_TARGET_MS = 250  # concurrency 8


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def upload(ctx) -> tuple[Path, str]:
    """The request body (task=scalp and the phone photo, as multipart form data) and its content type."""
    body, content_type = multipart([("task", "scalp")], [("IMG_0001.jpg", phone_jpeg())])
    body_file = ctx.workdir / "upload.body"
    body_file.write_bytes(body)
    return body_file, content_type


def measure(
    ctx,
    name: str,
    app: str,
    body: tuple[Path, str],
    requests: dict[int, int],
    conf: bool,
    models: Path | None = None,
    env: dict | None = None,
) -> dict:
    """{level: {"p50", "p95", "p99", "throughput", "errors", "samples"}} for one app; `body` from upload()."""
    home, token = server_home(ctx.workdir / name, models)
    body_file, content_type = body
    results = {}
    _say(f"{name}: rate limits kept in {ratelimit_storage()}")
    with Server(app, home, workers=2, conf=conf, env=env) as server:
        server.wait_ready()
        for level, count in requests.items():
            out = assessment_load(server, token, body_file, content_type, level, count)
            latencies = np.asarray(out["latencies_ms"])
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
            results[level] = {
                "p50": float(p50),
                "p95": float(p95),
                "p99": float(p99),
                "throughput": len(latencies) / out["wall_s"],
                "errors": out["errors"],
                "samples": len(latencies),
            }
            _say(
                f"{name}, concurrency {level}: p50 {p50:.1f} ms, p95 {p95:.1f}, p99 {p99:.1f}, "
                f"{results[level]['throughput']:.1f}/s, {out['errors']} errors {out['error_samples']}"
            )
    shutil.rmtree(home.parent)  # gigabytes of stored photos
    return results


def run(ctx) -> list[Row]:
    body = upload(ctx)
    scale = 0.15 if ctx.quick else 1.0
    ours = measure(
        ctx, "scalpcheck", SCALPCHECK_APP, body, {c: int(100 * c * scale) or 5 for c in LEVELS}, conf=True
    )
    # The baseline is slower: fewer requests give its percentiles as firmly in the same time.
    base = measure(
        ctx,
        "baseline",
        BASELINE_APP,
        body,
        {c: int(30 * c * scale) or 4 for c in LEVELS},
        conf=False,
        models=fp32_models(),
    )

    # The latency targets: (level, statistic) -> row() target arguments.
    targets = {
        (1, "p50"): {"target": P50_TARGET_MS, "target_ratio": SPEEDUP_TARGET},
        (8, "p99"): {"target": P99_TARGET_MS},
    }
    rows = []
    for level in LEVELS:
        ours_at, base_at = ours[level], base[level]
        for stat in ("p50", "p95", "p99"):
            rows.append(
                row(
                    "e2e",
                    f"12 MP JPEG -> JSON, concurrency {level}, {stat}",
                    ours_at[stat],
                    "ms",
                    baseline=base_at[stat],
                    baseline_name="usual Flask + PyTorch view",
                    higher_is_better=False,
                    **targets.get((level, stat), {}),
                )
            )
        rows.append(
            row(
                "e2e",
                f"throughput, concurrency {level}",
                ours_at["throughput"],
                "assessments/s",
                baseline=base_at["throughput"],
                baseline_name="usual Flask + PyTorch view",
                target=THROUGHPUT_TARGET if level == 8 else None,
            )
        )
    rows.append(
        row(
            "e2e",
            f"errors in {sum(r['samples'] for r in ours.values())} requests",
            sum(r["errors"] for r in ours.values()),
            "",
            baseline=sum(r["errors"] for r in base.values()),
            baseline_name="usual Flask + PyTorch view",
            higher_is_better=False,
            target=0,
        )
    )
    if not ctx.quick:
        rows += _variant_rows(ctx, body, ours)
    return rows


def _variant_rows(ctx, body: tuple[Path, str], ours: dict) -> list[Row]:
    """What the INT8 models, and one ONNX Runtime thread per worker rather than two, buy end to end."""
    fp32 = measure(ctx, "fp32", SCALPCHECK_APP, body, {1: 100, 8: 400}, conf=True, models=fp32_models())
    two = measure(
        ctx,
        "two-threads",
        SCALPCHECK_APP,
        body,
        {1: 100, 8: 400},
        conf=True,
        env={"SCALPCHECK_ORT_THREADS": "2"},
    )
    rows = []
    for variant, name, numbers in (
        ("the FP32 models", "INT8 models", fp32),
        ("2 threads per worker", "1 ONNX Runtime thread per worker", two),
    ):
        for level, stat, unit in ((1, "p50", "ms"), (8, "throughput", "assessments/s")):
            rows.append(
                row(
                    "e2e",
                    f"concurrency {level}, {stat}: {name}",
                    ours[level][stat],
                    unit,
                    baseline=numbers[level][stat],
                    baseline_name=variant,
                    higher_is_better=stat == "throughput",
                )
            )
    return rows
