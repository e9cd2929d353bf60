"""Debian's Chromium driven by Playwright: how to start it, the two window sizes, a throttled phone link, and
the upload page's own photo resizing (app.js's resizePhoto) run on a photo's bytes."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
APP_JS = Path(__file__).resolve().parents[2] / "src" / "scalpcheck" / "web" / "static" / "app.js"


@dataclass(frozen=True)
class Link:
    """A network link as DevTools emulates it: bytes a second each way and the round-trip time."""

    upload_bps: int
    download_bps: int
    latency_ms: int


# The weak mobile link: 1.5 Mbit/s up, 6 Mbit/s down, 100 ms round trip.
PHONE_LINK = Link(upload_bps=1_500_000 // 8, download_bps=6_000_000 // 8, latency_ms=100)


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def throttle(page, link: Link) -> None:
    """Every request of this page (and its navigations) goes over `link` (Chrome DevTools Network domain)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": link.latency_ms,
            "uploadThroughput": link.upload_bps,
            "downloadThroughput": link.download_bps,
        },
    )


# A Uint8Array as base64, in chunks (String.fromCharCode takes only so many arguments at once).
TO_BASE64 = """(bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
        text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
}"""


def fetch_bytes(page, url: str) -> bytes:
    """The body of GET `url` as `page` fetches it (its cookies, its service worker)."""
    script = f"async (url) => ({TO_BASE64})(new Uint8Array(await (await fetch(url)).arrayBuffer()))"
    return base64.b64decode(page.evaluate(script, url))


def resize_in_browser(page, photo: bytes, long_side: int) -> bytes | None:
    """What the upload page sends for `photo`: app.js's resizePhoto run in `page` (None: the original)."""
    if not page.evaluate("typeof resizePhoto === 'function'"):
        page.set_content("<!doctype html><title>resize</title>")
        page.add_script_tag(path=str(APP_JS))
    encoded = page.evaluate(
        """async ([data, longSide]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const file = new File([bytes], "photo.jpg", { type: "image/jpeg" });
            const smaller = await resizePhoto(file, longSide);
            if (!smaller) return null;
            return (TO_BASE64)(new Uint8Array(await smaller.arrayBuffer()));
        }""".replace("TO_BASE64", TO_BASE64),
        [base64.b64encode(photo).decode(), long_side],
    )
    return None if encoded is None else base64.b64decode(encoded)


def sign_up(page, base: str, username: str, password: str = "a long enough password") -> None:
    """Register `username` through the pages and log in; on the home page after."""
    page.goto(base + "/auth/register")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#confirm", password)
    page.click("main input[type=submit]")
    page.wait_for_url(re.compile(r".*/auth/login$"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main input[type=submit]")
    page.wait_for_url(base + "/")
