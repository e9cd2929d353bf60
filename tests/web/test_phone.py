"""The phone experience in a real browser: a 12 MP photo is scaled down before it goes up over a throttled
link, with progress shown; the site installs (manifest, service worker) and, offline, shows its offline page
while no result page or photo ever comes from a cache, before or after logout."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.helpers.browser import CHROMIUM, PHONE_LINK, VIEWPORTS, fetch_bytes, sign_up, throttle
from tests.helpers.photos import phantom, phone_jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make chromium` to install it"
    ),
]
# Records, across page loads, every text the upload status showed (sessionStorage outlives the navigation).
RECORD_STATUS = """
new MutationObserver(() => {
  const text = document.querySelector("[data-spinner-text]");
  const seen = sessionStorage.getItem("status") || "";
  if (text) sessionStorage.setItem("status", seen + "|" + text.textContent);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio of the grey images in dB: above about 38, the eye sees the same photo."""
    a, b = (np.asarray(im.convert("L"), dtype=np.float64) for im in (image, reference))
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


def detail(image: Image.Image) -> float:
    """The variance of the Laplacian at half size: the fine detail a side-by-side view shows (at full size
    it would count JPEG's block edges as detail)."""
    half = image.convert("L").resize((image.width // 2, image.height // 2), Image.Resampling.BOX)
    grey = np.asarray(half, dtype=np.float64)
    laplacian = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return float(laplacian.var())


def test_a_phone_sends_a_small_photo_installs_the_app_and_keeps_no_health_data_offline(
    database, live_server, browser, tmp_path
):
    if database != "sqlite":
        pytest.skip("the browser path is the same on every database")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(phone_jpeg(phantom("hairloss", "stage_2", seed=7, size=1024)))
    context = browser.new_context(**VIEWPORTS["phone"])
    context.add_init_script(RECORD_STATUS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_up(page, live_server.url, "phone.user")

    # installable: a manifest with what a home screen needs, and a worker that controls the page
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    assert manifest["name"] and manifest["theme_color"] and manifest["background_color"]
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    shell = set(page.evaluate(CACHED_URLS))
    assert "/offline" in shell and "/static/app.css" in shell

    # resized in the browser before it goes up a 1.5 Mbit/s link, the progress shown while it does
    page.goto(live_server.url + "/assess/hairloss")
    throttle(page, PHONE_LINK)
    page.set_input_files("#image-file", str(photo))
    page.click("[data-submit]")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"), timeout=60_000)
    result_url = page.url
    page.wait_for_load_state("networkidle")
    shown = page.eval_on_selector("img[src$='/image']", "img => [img.naturalWidth, img.naturalHeight]")
    assert shown == [768, 1024]  # upright (EXIF applied), longest side the one the server announced
    assert "Sending…" in page.evaluate("sessionStorage.getItem('status')")
    photo_url = page.eval_on_selector("img[src$='/image']", "img => img.src")
    stored = Image.open(io.BytesIO(fetch_bytes(page, photo_url)))
    # sharp enough to compare side by side: close to a careful (Lanczos) downscale made on the server
    reference = ImageOps.exif_transpose(Image.open(photo)).resize(stored.size, Image.Resampling.LANCZOS)
    assert psnr(stored, reference) >= 38 and detail(stored) >= 0.7 * detail(reference), (
        psnr(stored, reference),
        detail(stored) / detail(reference),
    )

    # offline: the offline page, never the result or the photo from a cache
    assert set(page.evaluate(CACHED_URLS)) == shell
    live_server.stop()
    page.reload()
    assert "You are offline" in page.content() and "Stage" not in page.inner_text("main")
    assert page.evaluate(f"fetch({photo_url!r}).then(() => 'loaded', () => 'failed')") == "failed"
    page.goto(live_server.url + "/history")
    assert "You are offline" in page.content()
    live_server.start()

    # after logout nothing of the user's is left to show, online or off
    page.goto(result_url)
    with page.expect_response(re.compile(r".*/auth/logout$")) as logout:
        page.click("button:has-text('Log out')")
    assert logout.value.header_value("clear-site-data") == '"cache"'
    page.wait_for_url(re.compile(r".*/auth/login$"))
    assert set(page.evaluate(CACHED_URLS)) == shell
    live_server.stop()
    page.goto(result_url)
    assert "You are offline" in page.content()
    assert page.evaluate(f"fetch({photo_url!r}).then(() => 'loaded', () => 'failed')") == "failed"
    live_server.start()
    page.goto(photo_url)
    assert "/auth/login" in page.url or "Log in" in page.content()
    context.close()
    assert problems == []
