"""axe-core (WCAG 2.1 A and AA rules) on every page in a real Chromium, desktop and phone, logged out and
in, error states included: zero violations. The count is printed for each page."""

from __future__ import annotations

import re

import pytest

from tests.helpers.browser import CHROMIUM, VIEWPORTS
from tests.helpers.photos import encode, phantom

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make chromium` to install it"
    ),
]
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PASSWORD = "a long enough password"


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_every_page_passes_axe(database, live_server, browser, tmp_path, device):
    if database != "sqlite":
        pytest.skip("the pages are the same on every database")
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    base = live_server.url
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def audit(name: str) -> None:
        page.wait_for_load_state("networkidle")
        results = axe.run(page, options=WCAG_21_AA).response
        found[name] = [
            f"{v['id']}: {v['help']} ({', '.join(str(n['target']) for n in v['nodes'][:3])})"
            for v in results["violations"]
        ]
        print(f"axe {device} {name}: {len(results['violations'])} violations")

    photo = tmp_path / "scalp.jpg"
    phantom("hairloss", "stage_2", seed=7, size=512).save(photo, quality=90)
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(encode(phantom(size=64).resize((32, 32)), "PNG"))

    page.goto(base + "/auth/register")
    audit("register")
    page.fill("#username", "axe.user")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", "another password")
    page.click("input[value='Create account'], button:has-text('Create account')")
    audit("register refused")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("input[value='Create account'], button:has-text('Create account')")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    audit("login")
    page.fill("#username", "axe.user")
    page.fill("#password", "wrong password")
    page.click("input[value='Log in']")
    audit("login refused")
    page.goto(base + "/offline")
    audit("offline")
    page.goto(base + "/auth/login")
    page.fill("#username", "axe.user")
    page.fill("#password", PASSWORD)
    page.click("input[value='Log in']")
    page.wait_for_url(base + "/")
    audit("home")
    page.goto(base + "/no-such-page")
    audit("not found")
    page.goto(base + "/assess/hairloss")
    audit("upload")
    page.set_input_files("#image-file", str(tiny))
    page.click("[data-submit]")
    page.wait_for_selector("main [role=alert]")
    audit("upload refused")
    page.goto(base + "/assess/hairloss")
    page.set_input_files("#image-file", str(photo))
    page.click("[data-submit]")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    audit("result")
    page.goto(base + "/visit/hairloss")
    audit("visit form")
    page.set_input_files("#visit-image-1", str(photo))
    page.set_input_files("#visit-image-2", str(photo))
    page.click("button:has-text('Assess the visit')")
    page.wait_for_url(re.compile(r".*/visits/\d+$"))
    audit("visit")
    page.goto(base + "/history")
    audit("history")
    page.click("button:has-text('Compare side by side')")
    page.wait_for_url(re.compile(r".*/history/compare\?.*"))
    audit("compare")
    page.goto(base + "/account")
    audit("account")
    page.fill("#password", "not my password")
    page.click("button:has-text('Delete'), input[type=submit][value*='Delete']")
    audit("account refused")
    context.close()
    total = sum(len(v) for v in found.values())
    print(f"axe {device}: {total} violations on {len(found)} pages")
    assert {name: v for name, v in found.items() if v} == {}


def tab_to(page, selector: str, presses: int = 40) -> None:
    """Press Tab until the focused element matches `selector` (fails after `presses`)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_whole_flow_works_by_keyboard_alone(database, live_server, browser, tmp_path):
    """Register, log in, choose an assessment, pick a photo, assess it, read the history, log out: Tab,
    Enter and Space only, never a click."""
    if database != "sqlite":
        pytest.skip("the pages are the same on every database")
    photo = tmp_path / "scalp.jpg"
    phantom("hairloss", "stage_2", seed=7, size=512).save(photo, quality=90)
    page = browser.new_context(**VIEWPORTS["desktop"]).new_page()
    base = live_server.url
    page.goto(base + "/auth/register")
    for field, text in (("#username", "keys.user"), ("#password", PASSWORD), ("#confirm", PASSWORD)):
        tab_to(page, field)
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    for field, text in (("#username", "keys.user"), ("#password", PASSWORD)):
        tab_to(page, field)
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    tab_to(page, "a[href='/assess/hairloss']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/assess/hairloss$"))
    tab_to(page, "#image-file")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(photo))
    tab_to(page, "[data-submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    assert page.locator(".probabilities li").count() == 5
    tab_to(page, "nav a[href='/history']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/history(\?.*)?$"))
    assert page.locator(".history-item").count() == 1
    tab_to(page, "button.link-button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/auth/login$"))
