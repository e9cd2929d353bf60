"""Visits and the doctor's report.

A visit of four 12 MP phone photos of hair-loss phantoms (crown, front, left, right), POST /api/v1/visits
end to end over HTTP, against a single such photo, POST /api/v1/assessments, on the same gunicorn server
(bench.server, 2 sync workers, the demo models), both at concurrency 1. The report: GET
/api/v1/reports/hairloss.pdf of a user with 50 visits of two photos each (ReportLab, thumbnails and the
trend chart included), in process through the Flask test client, against the same report of one visit.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time

import numpy as np

from bench import Row, row
from bench.bench_decode import phone_jpeg
from bench.server import SCALPCHECK_APP, Server, assessment_load, models_home, multipart, server_home

REGIONS = ("crown", "front", "left", "right")
VISIT_RATIO_TARGET = 0.25  # a visit of 4 photos within 4 x a single photo: single / visit >= 0.25
REPORT_TARGET_S = 2.0
REPORT_VISITS = 50


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _load(server, token, ctx, name, path, body, requests) -> dict:
    body_file = ctx.workdir / f"{name}.body"
    body_file.write_bytes(body[0])
    status, answer = server.request(
        "POST", path, body[0], {"Authorization": f"Bearer {token}", "Content-Type": body[1]}
    )
    refused = len(json.loads(answer).get("refused", [])) if status == 201 else None
    out = assessment_load(server, token, body_file, body[1], 1, requests, path=path)
    p50 = float(np.percentile(out["latencies_ms"], 50))
    _say(
        f"{name}: p50 {p50:.0f} ms over {len(out['latencies_ms'])}, {out['errors']} errors, refused {refused}"
    )
    return {"p50": p50, "errors": out["errors"], "status": status, "refused": refused}


def visit_rows(ctx) -> list[Row]:
    photos = [phone_jpeg("hairloss", f"stage_{k}", seed=10 + k) for k in (1, 2, 2, 3)]
    named = [(f"IMG_{i}.jpg", data) for i, data in enumerate(photos)]
    visit = multipart([("task", "hairloss"), *[("region", r) for r in REGIONS]], named)
    single = multipart([("task", "hairloss")], named[:1])
    home, token = server_home(ctx.workdir / "visits")
    requests = 5 if ctx.quick else 30
    with Server(SCALPCHECK_APP, home, workers=2) as server:
        server.wait_ready()
        one = _load(server, token, ctx, "single photo", "/api/v1/assessments", single, requests)
        four = _load(server, token, ctx, "visit of 4", "/api/v1/visits", visit, requests)
    return [
        row(
            "visits",
            f"visit of 4 phone photos -> JSON, concurrency 1, p50 ({four['refused']} refused)",
            four["p50"],
            "ms",
            baseline=one["p50"],
            baseline_name="one photo, POST /assessments",
            higher_is_better=False,
            target_ratio=VISIT_RATIO_TARGET,
        ),
        row(
            "visits",
            "errors (visits and single photos)",
            four["errors"] + one["errors"],
            "",
            higher_is_better=False,
            target=0,
        ),
    ]


def report_rows(ctx) -> list[Row]:
    from scalpcheck.data.synth import render_phantom
    from scalpcheck.web import create_app
    from scalpcheck.web.database import upgrade
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import User
    from scalpcheck.web.service import Upload, create_visit

    home = ctx.workdir / "report-home"
    (home).mkdir()
    (home / "models").symlink_to((models_home() / "models").resolve(), target_is_directory=True)
    os.environ["SCALPCHECK_HOME"] = str(home)
    try:
        app = create_app({"RATELIMIT_ENABLED": False})
        upgrade(app)
        photos = []
        for i in range(8):
            buffer = io.BytesIO()
            render_phantom("hairloss", f"stage_{i % 5}", np.random.default_rng(100 + i), size=384).save(
                buffer, "JPEG", quality=90
            )
            photos.append(buffer.getvalue())
        timings = {}
        with app.app_context():
            for name, visits in (("one", 1), ("many", REPORT_VISITS)):
                user = User(username=f"report-{name}", password_hash="x")
                db.session.add(user)
                db.session.commit()
                for i in range(visits):
                    pair = [Upload(photos[(2 * i) % 8], "crown"), Upload(photos[(2 * i + 1) % 8], "front")]
                    create_visit(user, "hairloss", pair)
                timings[name] = _time_report(app, user)
    finally:
        os.environ.pop("SCALPCHECK_HOME", None)
    _say(f"report of 1 visit: {timings['one']:.3f} s; of {REPORT_VISITS}: {timings['many']:.3f} s")
    return [
        row(
            "visits",
            f"PDF report of {REPORT_VISITS} visits (2 photos each), median of 5",
            timings["many"],
            "s",
            baseline=timings["one"],
            baseline_name="the report of 1 visit",
            higher_is_better=False,
            target=REPORT_TARGET_S,
        )
    ]


def _time_report(app, user) -> float:
    from scalpcheck.web.api.tokens import issue_token

    token, _ = issue_token(user)
    client = app.test_client()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        response = client.get("/api/v1/reports/hairloss.pdf", headers={"Authorization": f"Bearer {token}"})
        times.append(time.perf_counter() - start)
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), response.data[:200]
    return statistics.median(times)


def run(ctx) -> list[Row]:
    return report_rows(ctx) + visit_rows(ctx)
