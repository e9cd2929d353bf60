"""axe-core (WCAG 2.1 A and AA rules) on every page in a real Chromium, desktop and phone, logged out and
in, error states included, and on the phone in Hindi too: zero violations. The count is printed for each
page."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
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
FORM = "main input[type=submit]"  # the submit button of the page's one form


@pytest.mark.parametrize(
    ("device", "language"), [("desktop", "en-GB"), ("phone", "en-GB"), ("phone", "hi-IN")]
)
def test_every_page_passes_axe(database, live_server, browser, tmp_path, device, language):
    if database != "sqlite":
        pytest.skip("the pages are the same on every database")
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    base = live_server.url
    device = f"{device} {language}"
    # The browser's language is its Accept-Language: the pages come in it. Selectors name no text.
    context = browser.new_context(**VIEWPORTS[device.split()[0]], locale=language)
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

    def submit(button: str, fields: dict[str, str | Path]) -> None:
        """Fill in the form (a Path is a file to choose) and press `button`."""
        for selector, value in fields.items():
            if isinstance(value, Path):
                page.set_input_files(selector, str(value))
            else:
                page.fill(selector, value)
        page.click(button)

    photo = tmp_path / "scalp.jpg"
    phantom("hairloss", "stage_2", seed=7, size=512).save(photo, quality=90)
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(encode(phantom(size=64).resize((32, 32)), "PNG"))

    page.goto(base + "/auth/register")
    assert page.get_attribute("html", "lang") == language[:2]
    if language.startswith("hi"):
        assert_devanagari_is_drawn(context, page)
    audit("register")
    submit(FORM, {"#username": "axe.user", "#password": PASSWORD, "#confirm": "another password"})
    audit("register refused")
    submit(FORM, {"#password": PASSWORD, "#confirm": PASSWORD})
    page.wait_for_url(re.compile(r".*/auth/login$"))
    audit("login")
    submit(FORM, {"#username": "axe.user", "#password": "wrong password"})
    audit("login refused")
    page.goto(base + "/offline")
    audit("offline")
    page.goto(base + "/auth/login")
    submit(FORM, {"#username": "axe.user", "#password": PASSWORD})
    page.wait_for_url(base + "/")
    audit("home")
    page.goto(base + "/no-such-page")
    audit("not found")
    page.goto(base + "/assess/hairloss")
    audit("upload")
    submit("[data-submit]", {"#image-file": tiny})
    page.wait_for_selector("main [role=alert]")
    audit("upload refused")
    page.goto(base + "/assess/hairloss")
    submit("[data-submit]", {"#image-file": photo})
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    audit("result")
    page.goto(base + "/visit/hairloss")
    audit("visit form")
    submit(".visit-form [data-submit]", {"#visit-image-1": photo, "#visit-image-2": photo})
    page.wait_for_url(re.compile(r".*/visits/\d+$"))
    audit("visit")
    page.goto(base + "/history")
    audit("history")
    page.click(".compare-form [type=submit]")
    page.wait_for_url(re.compile(r".*/history/compare\?.*"))
    audit("compare")
    page.goto(base + "/account")
    audit("account")
    submit(".danger-zone [type=submit]", {"#password": "not my password"})
    audit("account refused")
    for path, name in (
        ("/account/audit", "audit log"),
        ("/account/email", "recovery address (no mail server)"),
        ("/account/password", "change the password"),
        ("/account/2fa", "two-factor enrolment"),
    ):
        page.goto(base + path)
        audit(name)
    secret = page.text_content("main figcaption code")
    submit(FORM, {"#code": "000000", "#password": PASSWORD})
    audit("two-factor refused")
    submit(FORM, {"#code": pyotp.TOTP(secret).now(), "#password": PASSWORD})
    page.wait_for_selector(".recovery-codes")
    audit("recovery codes")
    page.goto(base + "/account/2fa")
    audit("two-factor on")
    page.click("form[action$='/auth/logout'] button")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    submit(FORM, {"#username": "axe.user", "#password": PASSWORD})
    page.wait_for_url(re.compile(r".*/auth/2fa.*"))
    audit("second step")
    submit(FORM, {"#code": "000000"})
    audit("second step refused")
    page.goto(base + "/auth/forgot")
    audit("forgot password (no mail server)")
    context.close()
    total = sum(len(v) for v in found.values())
    print(f"axe {device}: {total} violations on {len(found)} pages")
    assert {name: v for name, v in found.items() if v} == {}


def assert_devanagari_is_drawn(context, page) -> None:
    """The heading and the body text of a Hindi page are set in a font with Devanagari (this machine has none
    of its own: it is app.css's web font), not in a Latin font that would draw boxes."""
    page.evaluate("document.fonts.ready")
    cdp = context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("main h1", "main p.lead", "main input[type=submit]"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        text = page.eval_on_selector(selector, "e => e.value || e.textContent")
        others = sum(1 for c in text if not "\u0900" <= c <= "\u097f")  # spaces, digits, punctuation
        latin = sum(f["glyphCount"] for f in fonts if "Devanagari" not in f["familyName"])
        assert any("Devanagari" in f["familyName"] for f in fonts), (selector, fonts)
        assert latin <= others, (selector, text, fonts)  # no Devanagari letter drawn by a Latin font


def tab_to(page, selector: str, presses: int = 40) -> None:
    """Press Tab until the focused element matches `selector` (fails after `presses`)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector)


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
    open_file_chooser_by_keyboard(page, "#image-file").set_files(str(photo))
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


def open_file_chooser_by_keyboard(page, selector: str, tries: int = 3):
    """Tab to the file input and press Space until Chromium opens its chooser: headless Chromium has
    dropped the first press once in a full run of the suite, and a person would simply press it again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab_to(page, selector)
    for attempt in range(tries):
        if not focused(page, selector):
            tab_to(page, selector)
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
    return None
