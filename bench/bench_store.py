"""What encrypting the stored images costs: in-process, one upload's images written (and one photo read back)
through the image store sealed with AES-256-GCM against the same store writing them plain
(bench.plain_store: the same pending folders, fsyncs and renames); and end to end, the 12 MP upload of
bench_e2e at concurrency 8 through gunicorn, the production app against that app with the plain store, and
the production app with its images in an S3 bucket (`rclone serve s3` on loopback, over this disk) against
the same app with them in a folder. The servers run in turn, twice each (A B C A B C), and each side's
better run counts, so a slow spell on a shared machine does not decide the ratio."""

from __future__ import annotations

import io
import statistics
import tempfile
import time

from PIL import Image

from bench import Row, row
from bench.bench_decode import phone_jpeg
from bench.bench_e2e import measure, upload
from bench.plain_store import plain
from bench.server import BENCH_CONFIG, SCALPCHECK_APP

PLAIN_APP = f"bench.plain_store:create_app({BENCH_CONFIG!r})"  # as SCALPCHECK_APP, the store plain
THROUGHPUT_RATIO_TARGET = 0.9  # sealed within 10 % of plain
S3_RATIO_TARGET = 0.75  # the bucket within 25 % of the folder


def run(ctx) -> list[Row]:
    from tests.helpers.s3 import start_s3

    rows = _in_process(ctx)
    level, count = 8, (60 if ctx.quick else 300)
    body = upload(ctx)
    s3 = start_s3("rclone")
    try:
        sides = (("sealed", SCALPCHECK_APP), ("plain", PLAIN_APP), ("s3", SCALPCHECK_APP))
        best = {name: 0.0 for name, _ in sides}
        for turn in range(1 if ctx.quick else 2):
            for name, app in sides:
                env = None
                if name == "s3":  # each run's home has its own image key, and so needs a bucket of its own
                    env = {**s3.env, "IMAGE_STORE_URL": f"s3://{s3.new_bucket()}/images"}
                out = measure(ctx, f"{name}-{turn}", app, body, {level: count}, conf=True, env=env)
                if out[level]["errors"]:  # a failed request is fast: its throughput would mean nothing
                    raise RuntimeError(f"{name}: {out[level]['errors']} of {count} requests failed")
                best[name] = max(best[name], out[level]["throughput"])
    finally:
        s3.stop()
    rows.append(
        row(
            "store",
            "12 MP JPEG -> JSON, concurrency 8, throughput with the images encrypted",
            best["sealed"],
            "assessments/s",
            baseline=best["plain"],
            baseline_name="the images stored plain",
            target_ratio=THROUGHPUT_RATIO_TARGET,
        )
    )
    rows.append(
        row(
            "store",
            "12 MP JPEG -> JSON, concurrency 8, throughput with the images in an S3 bucket (rclone)",
            best["s3"],
            "assessments/s",
            baseline=best["sealed"],
            baseline_name="the images in a folder",
            target_ratio=S3_RATIO_TARGET,
        )
    )
    return rows


def _in_process(ctx) -> list[Row]:
    from scalpcheck.settings import load_settings
    from scalpcheck.web.storage import open_store

    photo = _resized(phone_jpeg(), 1024)
    preview = Image.open(io.BytesIO(photo)).convert("RGB")
    overlay = preview.resize((224, 224))
    repeats = 10 if ctx.quick else 60
    with tempfile.TemporaryDirectory(dir=ctx.workdir) as a, tempfile.TemporaryDirectory(dir=ctx.workdir) as b:
        sealed = open_store(load_settings({"SCALPCHECK_HOME": a}))
        unsealed = plain(open_store(load_settings({"SCALPCHECK_HOME": b})))
        write = {"sealed": [], "plain": []}
        read = {"sealed": [], "plain": []}
        for _ in range(repeats):  # alternating, so drift in the machine's speed falls on both alike
            for name, store in (("sealed", sealed), ("plain", unsealed)):
                start = time.perf_counter()
                with store.adding(photo, "image/jpeg", preview, overlay) as key:
                    pass
                write[name].append(time.perf_counter() - start)
                start = time.perf_counter()
                assert store.fetch(key, "photo.jpg").data == photo
                read[name].append(time.perf_counter() - start)
    size = f"{len(photo) / 1e6:.2f} MB"
    measures = (
        (f"one upload's images stored (photo {size}, overlay, thumbnail), encrypted, p50", write, "stored"),
        (f"one stored photo ({size}) read back and decrypted, p50", read, "read"),
    )
    return [
        row(
            "store",
            name,
            statistics.median(times["sealed"]) * 1000,
            "ms",
            baseline=statistics.median(times["plain"]) * 1000,
            baseline_name=f"{verb} plain",
            higher_is_better=False,
        )
        for name, times, verb in measures
    ]


def _resized(jpeg: bytes, long_side: int) -> bytes:
    """The photo as the upload page sends it: scaled to `long_side`, JPEG quality 90."""
    image = Image.open(io.BytesIO(jpeg))
    image.thumbnail((long_side, long_side))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
