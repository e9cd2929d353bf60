"""The data export streams: a gunicorn worker's memory while it sends "download my data" for an account of
200 photos, against the same for 20 photos.

Each account's assessments are uploads of bench_e2e's 12 MP phone photo through the API (the demo models,
concurrency 4), in a fresh home served by one worker. The worker's
resident set (VmRSS, from /proc) is sampled every 10 ms while GET /api/v1/export is read to its end; the
figure is its peak less what it held just before. Constant memory means the 200-photo export grows the
worker no more than the 20-photo one."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

from bench import Row, row
from bench.bench_e2e import upload
from bench.bench_worker import memory_mb
from bench.server import SCALPCHECK_APP, Server, assessment_load, server_home

GROWTH_TARGET_MB = 64  # far below the 200-photo zip's size: the photos are never all held


def run(ctx) -> list[Row]:
    body = upload(ctx)
    small, large = (5, 20) if ctx.quick else (20, 200)
    grown = {n: _export_growth(ctx.workdir / f"export-{n}", body, n) for n in (small, large)}
    (base_mb, _, base_photos), (mb, size, photos) = grown[small], grown[large]
    return [
        row(
            "export",
            f"worker RSS growth while streaming the export of {photos} photos ({size / 1e6:.0f} MB zip)",
            mb,
            "MB",
            baseline=base_mb,
            baseline_name=f"the export of {base_photos} photos",
            higher_is_better=False,
            target=GROWTH_TARGET_MB,
        )
    ]


def _export_growth(root: Path, body: tuple[Path, str], count: int) -> tuple[float, int, int]:
    """(peak RSS less RSS before, in MB; bytes of the zip; photos in it) after `count` uploads."""
    home, token = server_home(root)
    with Server(SCALPCHECK_APP, home, workers=1) as server:
        server.wait_ready()
        out = assessment_load(server, token, *body, concurrency=4, requests=count)
        if out["errors"]:
            raise RuntimeError(f"{out['errors']} of {count} uploads failed")
        headers = {"Authorization": f"Bearer {token}"}
        _, listed = server.request("GET", "/api/v1/assessments?per_page=1", headers=headers)
        photos = json.loads(listed)["total"]  # the load generator's warm-up uploads too
        (pid,) = server.worker_pids()
        before = memory_mb(pid)["rss"]
        peak, done = [before], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(memory_mb(pid)["rss"])
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            size = _download(server.port, "/api/v1/export", headers)
        finally:
            done.set()
            sampler.join()
    return max(peak) - before, size, photos


def _download(port: int, path: str, headers: dict) -> int:
    """Read the answer in chunks (the client must not hold it either) and return its length."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.read()[:200]!r}")
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
        return size
    finally:
        conn.close()
