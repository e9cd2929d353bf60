"""The data export streams: a gunicorn worker's memory while it sends "download my data" for an account of
200 photos, against the same for 20 photos.

Each account's assessments are stored as an upload stores them (the 12 MP phone photo of bench_decode,
encrypted, with its overlay and thumbnail; no model run), in a fresh home served by one worker. The worker's
resident set (VmRSS, from /proc) is sampled every 10 ms while GET /api/v1/export is read to its end; the
figure is its peak less what it held just before. Constant memory means the 200-photo export grows the
worker no more than the 20-photo one."""

from __future__ import annotations

import http.client
import io
import threading
import time
from pathlib import Path

from PIL import Image

from bench import Row, row
from bench.bench_decode import phone_jpeg
from bench.bench_worker import memory_mb
from bench.server import SCALPCHECK_APP, USERNAME, Server, server_home

GROWTH_TARGET_MB = 64  # far below the 200-photo zip's size: the photos are never all held


def run(ctx) -> list[Row]:
    photo = phone_jpeg()
    small, large = (5, 20) if ctx.quick else (20, 200)
    grown = {n: _export_growth(ctx.workdir / f"export-{n}", photo, n) for n in (small, large)}
    (base_mb, _), (mb, size) = grown[small], grown[large]
    return [
        row(
            "export",
            f"worker RSS growth while streaming the export of {large} photos ({size / 1e6:.0f} MB zip)",
            mb,
            "MB",
            baseline=base_mb,
            baseline_name=f"the export of {small} photos",
            higher_is_better=False,
            target=GROWTH_TARGET_MB,
        )
    ]


def _export_growth(root: Path, photo: bytes, count: int) -> tuple[float, int]:
    """(peak RSS less RSS before, in MB; bytes of the zip) for an export of `count` stored photos."""
    home, token = server_home(root)
    _store(home, photo, count)
    with Server(SCALPCHECK_APP, home, workers=1) as server:
        server.wait_ready()
        headers = {"Authorization": f"Bearer {token}"}
        server.request("GET", "/api/v1/assessments", headers=headers)  # the worker warm
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
    return max(peak) - before, size


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


def _store(home: Path, photo: bytes, count: int) -> None:
    """`count` assessments of the bench user, stored as an upload stores them (no model run)."""
    import os

    from sqlalchemy import select

    from scalpcheck.web import create_app
    from scalpcheck.web.extensions import db, get_store
    from scalpcheck.web.models import Assessment, User

    preview = Image.open(io.BytesIO(photo)).convert("RGB")
    preview.thumbnail((1024, 1024))
    previous, os.environ["SCALPCHECK_HOME"] = os.environ.get("SCALPCHECK_HOME"), str(home)
    try:
        app = create_app()
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == USERNAME))
            store = get_store()
            for _ in range(count):
                with store.adding(photo, "image/jpeg", preview, preview.resize((224, 224))) as key:
                    db.session.add(_row(Assessment, user_id, key))
                    db.session.commit()
            db.engine.dispose()
    finally:
        if previous is None:
            os.environ.pop("SCALPCHECK_HOME")
        else:
            os.environ["SCALPCHECK_HOME"] = previous


def _row(model, user_id: int, key: str):
    return model(
        user_id=user_id,
        task="scalp",
        label="healthy",
        display_name="Healthy scalp",
        confidence=0.9,
        probabilities={"healthy": 0.9},
        low_confidence=False,
        alternatives=[],
        advice={},
        model_version="bench",
        model_backbone="efficientnet_lite0",
        synthetic_data=True,
        image_key=key,
        image_type="image/jpeg",
    )
