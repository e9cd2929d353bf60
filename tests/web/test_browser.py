"""End to end in a real browser: Playwright drives Debian's Chromium through the whole path of a user.

register -> log in -> choose an assessment -> upload a phantom -> result with overlay -> history -> a visit of
two photos -> the side-by-side comparison -> log out,
on a desktop window and on a phone-sized one, with a screenshot of every page kept under
test-artifacts/browser/. The console must stay free of errors (a CSP violation would show there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.browser import CHROMIUM, VIEWPORTS
from tests.helpers.photos import phantom

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make chromium` to install it"
    ),
]


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_user_goes_the_whole_way(database, live_server, browser, tmp_path, device):
    if database != "sqlite":
        pytest.skip("the browser path is the same on every database; the API and page tests cover both")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "scalp.jpg"
    phantom("hairloss", "stage_2", seed=7, size=512).save(photo, quality=90)
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    problems: list[str] = []
    wrong_login = "the server responded with a status of 401"  # the wrong password typed on purpose below
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and wrong_login not in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    def shot(name: str) -> None:
        path = str(ARTIFACTS / f"{device}-{name}.png")
        if device == "desktop":
            page.screenshot(path=path, full_page=True)
            return
        # Chromium's full-page capture drops the mobile emulation (touch media queries): grow the viewport.
        size = page.viewport_size
        page.set_viewport_size({**size, "height": page.evaluate("document.documentElement.scrollHeight")})
        page.screenshot(path=path)
        page.set_viewport_size(size)

    page.goto(live_server.url + "/")
    assert "/auth/login?next=" in page.url
    page.click("text=Create an account")
    page.fill("#username", "Browser.User")
    page.fill("#password", "a long enough password")
    page.fill("#confirm", "a long enough password")
    shot("1-register")
    page.click("button:has-text('Create account'), input[value='Create account']")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    assert "Your account is ready" in page.content()

    page.fill("#username", "browser.user")
    page.fill("#password", "wrong password")
    page.click("input[value='Log in']")
    assert "Wrong username or password." in page.content()
    page.fill("#password", "a long enough password")
    shot("2-login")
    page.click("input[value='Log in']")
    page.wait_for_url(live_server.url + "/")
    shot("3-home")

    page.click("a[href='/assess/hairloss']")
    page.wait_for_url(re.compile(r".*/assess/hairloss$"))
    page.set_input_files("#image-file", str(photo))
    page.wait_for_selector("img[data-preview]:not([hidden])")
    assert "is ready" in page.inner_text("[data-filename]")
    shot("4-upload")
    page.click("[data-submit]")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    page.wait_for_load_state("networkidle")
    overlay_width = page.eval_on_selector("img[src$='/heatmap']", "img => img.naturalWidth")
    photo_width = page.eval_on_selector("img[src$='/image']", "img => img.naturalWidth")
    assert overlay_width > 0 and photo_width > 0
    assert "Demo model." in page.content() and page.locator(".probabilities li").count() == 5
    shot("5-result")

    page.click("nav a:has-text('History')")
    page.wait_for_url(re.compile(r".*/history$"))
    page.wait_for_load_state("networkidle")
    assert page.locator("svg.chart circle.point").count() == 1
    assert page.eval_on_selector(".history-item img", "img => img.naturalWidth") > 0
    shot("6-history")

    # a visit of two photos of named regions, then the comparison of it with the single photo
    page.click("a:has-text('New visit')")
    page.wait_for_url(re.compile(r".*/visit/hairloss$"))
    second = tmp_path / "front.jpg"
    phantom("hairloss", "stage_3", seed=8, size=512).save(second, quality=90)
    page.set_input_files("#visit-image-1", str(photo))
    page.set_input_files("#visit-image-2", str(second))
    assert page.input_value("#visit-region-1") == "crown" and page.input_value("#visit-region-2") == "front"
    shot("7-visit-form")
    page.click("button:has-text('Assess the visit')")
    page.wait_for_url(re.compile(r".*/visits/\d+$"))
    assert page.locator(".visit-photos li").count() == 2 and "Hair density" in page.content()
    shot("8-visit")
    page.click("a:has-text('History')")
    page.wait_for_url(re.compile(r".*/history(\?.*)?$"))
    assert page.locator("svg.chart polygon.density-band").count() == 1
    page.click("button:has-text('Compare side by side')")
    page.wait_for_url(re.compile(r".*/history/compare\?.*"))
    page.wait_for_load_state("networkidle")
    assert page.locator("figure.compare-photo img[src$='/image']").count() == 3  # 1 photo against 2
    assert page.locator("#compare-change").inner_text()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]  # side by side without scrolling sideways, phone included
    zoom = page.eval_on_selector(".compare-photo .zoom", "el => getComputedStyle(el).touchAction")
    assert "pinch-zoom" in zoom or zoom in ("auto", "manipulation")  # the photo can be pinched to zoom
    shot("9-compare")

    page.click("button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    assert "You are logged out." in page.content()
    shot("10-logged-out")
    page.goto(live_server.url + "/history")
    assert "/auth/login" in page.url
    context.close()
    assert problems == []
    assert len(list(ARTIFACTS.glob(f"{device}-*.png"))) >= 10
