"""The phone experience: a 12 MP phone photo sent from a real Chromium over a throttled mobile link.

Playwright drives Debian's Chromium (tests.helpers.browser); DevTools throttles the page to 1.5 Mbit/s up,
6 Mbit/s down and 100 ms round trip. One run: log in, open the hair-loss upload page, choose the photo,
then the timed part, from tapping "Assess photo" to the result page's load event (the page and its photo and
heat map shown). p50 of RUNS runs against the same gunicorn server (bench.server, 2 workers, the demo
models) started with UPLOAD_LONG_SIDE=1024 (the page scales the photo down first) and with 0 (the page sends
the original). Service workers are blocked in these runs: DevTools does not throttle what a worker fetches.

Then the server's throughput for such resized uploads: the browser's own 1024 px JPEG of the photo posted
to POST /api/v1/assessments at concurrency 8 (bench.loadgen), beside the original at concurrency 8.
"""

from __future__ import annotations

import statistics
import sys
import time

from tests.helpers.browser import CHROMIUM, PHONE_LINK, VIEWPORTS, launch, resize_in_browser, throttle

from bench import Row, row
from bench.bench_decode import phone_jpeg
from bench.server import PASSWORD, SCALPCHECK_APP, USERNAME, Server, assessment_load, multipart, server_home

RUNS = 7
LONG_SIDE = 1024
P50_TARGET_S = 2.5
SPEEDUP_TARGET = 4.0
THROUGHPUT_TARGET = 100.0
CONCURRENCY = 8


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _tap_to_result(browser, base: str, photo_path, runs: int) -> list[float]:
    """Seconds from tapping "Assess photo" to the result page shown, for each run, one logged-in phone."""
    context = browser.new_context(**VIEWPORTS["phone"], service_workers="block")
    page = context.new_page()
    page.goto(base + "/auth/login")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("input[value='Log in']")
    page.wait_for_url(base + "/")
    throttle(page, PHONE_LINK)
    times = []
    for _ in range(runs):
        page.goto(base + "/assess/hairloss")
        page.set_input_files("#image-file", str(photo_path))
        page.wait_for_selector("img[data-preview]:not([hidden])")
        start = time.perf_counter()
        page.click("[data-submit]")
        page.wait_for_url("**/assessments/*", wait_until="load", timeout=120_000)
        times.append(time.perf_counter() - start)
    context.close()
    return times


def run(ctx) -> list[Row]:
    if not CHROMIUM.exists():
        _say("no /usr/bin/chromium (make chromium): the phone benchmark is skipped")
        return []
    from playwright.sync_api import sync_playwright

    photo = phone_jpeg("hairloss", "stage_2", seed=21)
    photo_path = ctx.workdir / "IMG_2001.jpg"
    photo_path.write_bytes(photo)
    runs = 3 if ctx.quick else RUNS
    flows: dict[int, list[float]] = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        resized = resize_in_browser(browser.new_page(), photo, LONG_SIDE)
        for long_side in (LONG_SIDE, 0):
            home, _ = server_home(ctx.workdir / f"phone-{long_side}")
            with Server(SCALPCHECK_APP, home, workers=2, env={"UPLOAD_LONG_SIDE": str(long_side)}) as server:
                server.wait_ready()
                flows[long_side] = _tap_to_result(
                    browser, f"http://127.0.0.1:{server.port}", photo_path, runs
                )
            _say(f"UPLOAD_LONG_SIDE={long_side}: tap to result {[round(t, 2) for t in flows[long_side]]} s")
        browser.close()
    assert resized is not None, "the browser did not scale the photo down"
    _say(f"photo {len(photo) / 1e6:.2f} MB; resized in the browser {len(resized) / 1e6:.3f} MB")

    home, token = server_home(ctx.workdir / "phone-load")
    requests = 40 if ctx.quick else 400
    rates = {}
    with Server(SCALPCHECK_APP, home, workers=2) as server:
        server.wait_ready()
        for name, data in (("resized", resized), ("original", photo)):
            body, content_type = multipart([("task", "hairloss")], [("IMG_2001.jpg", data)])
            body_file = ctx.workdir / f"phone-{name}.body"
            body_file.write_bytes(body)
            out = assessment_load(server, token, body_file, content_type, CONCURRENCY, requests)
            rates[name] = len(out["latencies_ms"]) / out["wall_s"]
            assert out["errors"] == 0, out["error_samples"]
            _say(f"{name}: {rates[name]:.1f} assessments/s at c={CONCURRENCY}, {out['errors']} errors")
    on, off = statistics.median(flows[LONG_SIDE]), statistics.median(flows[0])
    return [
        row(
            "phone",
            f"12 MP photo, tap to result, 1.5/6 Mbit/s + 100 ms, resized to {LONG_SIDE} px, p50 of {runs}",
            on,
            "s",
            baseline=off,
            baseline_name="the same flow sending the original",
            higher_is_better=False,
            target=P50_TARGET_S,
            target_ratio=SPEEDUP_TARGET,
        ),
        row(
            "phone",
            f"browser-resized uploads -> JSON, concurrency {CONCURRENCY}",
            rates["resized"],
            "assessments/s",
            baseline=rates["original"],
            baseline_name="the 12 MP originals",
            target=THROUGHPUT_TARGET,
        ),
    ]
