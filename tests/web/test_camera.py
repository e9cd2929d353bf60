"""The upload page's live camera view in a real Chromium whose camera shows a phantom (a y4m video): the
framing guide's hints for a good, a dark and a blurry frame, the shot assessed end to end, the view's
measures equal to the quality gate's, and the file picker as before where there is no camera."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageFilter

from scalpcheck.quality import measure, problems
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, TO_BASE64, VIEWPORTS, sign_up
from tests.helpers.camera import fake_camera_args, write_y4m
from tests.helpers.photos import encode, phantom

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make chromium` to install it"
    ),
]
GOOD = "Good: hold still and take the photo."
DARK = "Too dark: move to better, even light."
BLURRY = "Blurry: hold still, let it focus."
REFUSED = "The camera could not be opened; choose a photo instead."
# Keeps every stream the page gets from the camera, so the test can see that each one was stopped.
RECORD_STREAMS = """
window.cameraStreams = [];
if (navigator.mediaDevices) {
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    window.cameraStreams.push(stream);
    return stream;
  };
}
"""
ALL_STOPPED = """() => cameraStreams.length > 0
  && cameraStreams.every((s) => s.getTracks().every((t) => t.readyState === "ended"))"""
PLAYING = (
    "() => { const v = document.querySelector('[data-camera-video]'); return v.videoWidth > 0 && !v.paused; }"
)
FOCUSED = "(selector) => document.activeElement.matches(selector)"
# camera.js's measures of an image, drawn as the view draws a frame.
MEASURE = """async (url) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  return measureFrame(img, img.naturalWidth, img.naturalHeight, document.createElement("canvas"));
}"""
# The hint camera.js gives a frame of that image, judged with the limits the page got from the server.
JUDGE = """async (url) => {
  const stats = await (MEASURE)(url);
  return judge(stats, readLimits(document.querySelector("[data-camera]").dataset));
}""".replace("MEASURE", MEASURE)
SHOT = """async () => {
  const files = document.querySelector("#image-camera").files;
  const bitmap = await createImageBitmap(files[0]);
  const jpeg = (TO_BASE64)(new Uint8Array(await files[0].arrayBuffer()));
  return { count: files.length, name: files[0].name, type: files[0].type, size: [bitmap.width, bitmap.height],
           jpeg };
}""".replace("TO_BASE64", TO_BASE64)


def scene() -> Image.Image:
    """A phantom the tests' hairloss model assesses (as test_phone uploads it)."""
    return phantom("hairloss", "stage_2", seed=7, size=512)


def data_url(img: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(encode(img, "PNG")).decode()


def flat_frame() -> Image.Image:
    """Skin colour with a camera's noise and nothing else: a wall or a cheek, not a scalp close up."""
    rng = np.random.default_rng(0)
    pixels = np.array([190, 150, 125], float) + rng.normal(0, 3, (256, 320, 1))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture
def camera_page(database, live_server, tmp_path):
    """camera_page(frame) -> (page, page errors): the hairloss upload page, logged in, on a phone-sized
    Chromium whose only camera shows `frame`."""
    if database != "sqlite":
        pytest.skip("the browser path is the same on every database")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browsers = []

        def open_page(frame: Image.Image):
            video = write_y4m(tmp_path / f"camera-{len(browsers)}.y4m", frame)
            args = [*CHROMIUM_ARGS, *fake_camera_args(video)]
            browsers.append(
                playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
            )
            context = browsers[-1].new_context(**VIEWPORTS["phone"])
            context.grant_permissions(["camera"], origin=live_server.url)
            context.add_init_script(RECORD_STREAMS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_up(page, live_server.url, "camera.user")
            page.goto(live_server.url + "/assess/hairloss")
            return page, errors

        yield open_page
        for browser in browsers:
            browser.close()


def open_camera(page) -> None:
    page.click("[data-camera-open]")
    page.wait_for_function(PLAYING)
    assert page.evaluate(FOCUSED, "[data-camera-shoot]")


def assert_closed(page) -> None:
    """The view is gone, every camera stream stopped, and the focus is back on the open button."""
    page.wait_for_selector("[data-camera]", state="hidden")
    page.wait_for_function(ALL_STOPPED)
    assert page.evaluate(FOCUSED, "[data-camera-open]")


def test_the_live_camera_guides_the_shot_and_its_photo_is_assessed(camera_page):
    from playwright.sync_api import expect

    page, errors = camera_page(scene())
    # the view measures a frame exactly as the quality gate does (at the analysis size nothing is resampled)
    frame = phantom("hairloss", "stage_2", seed=7, size=320).crop((0, 32, 320, 288))
    url = data_url(frame)
    stats = measure(frame)
    expected = {
        "brightness": stats.brightness,
        "fineDetail": stats.fine_detail,
        "coarseDetail": stats.coarse_detail,
        "sharpness": stats.sharpness,
    }
    assert page.evaluate(MEASURE, url) == pytest.approx(expected, rel=1e-4)
    assert page.evaluate(JUDGE, url) == "good"
    # a plain, noisy surface passes the gate, but the guide asks for the scalp to fill the frame
    assert problems(measure(flat := flat_frame())) == []
    assert page.evaluate(JUDGE, data_url(flat)) == "far"

    expect(page.locator("[data-camera-open]")).to_be_visible()
    expect(page.locator("[data-camera]")).to_be_hidden()
    open_camera(page)
    expect(page.locator("[data-camera-hint]")).to_have_text(GOOD)
    expect(page.locator("[data-camera-guide]")).to_have_class(re.compile(r"\bguide-ok\b"))
    for button in ("[data-camera-shoot]", "[data-camera-close]"):
        box = page.locator(button).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (button, box)
    page.click("[data-camera-close]")
    assert_closed(page)

    open_camera(page)
    expect(page.locator("[data-camera-hint]")).to_have_text(GOOD)
    page.click("[data-camera-shoot]")
    expect(page.locator("[data-preview]")).to_be_visible()  # app.js took the shot as a picked photo
    shot = page.evaluate(SHOT)
    assert {k: v for k, v in shot.items() if k != "jpeg"} == {
        "count": 1,
        "name": "camera.jpg",
        "type": "image/jpeg",
        "size": [512, 512],  # the camera's full resolution
    }
    photo = Image.open(io.BytesIO(base64.b64decode(shot["jpeg"])))
    difference = np.abs(np.asarray(photo.convert("L"), float) - np.asarray(scene().convert("L"), float))
    assert photo.format == "JPEG" and difference.mean() < 4  # the camera's picture, not a blank frame
    assert_closed(page)
    assert page.evaluate("cameraStreams.length") == 2

    page.click("[data-submit]")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"), timeout=60_000)
    assert page.locator(".probabilities li").count() == 5
    assert errors == []


def test_a_dark_frame_gets_the_light_hint_and_escape_closes_the_view(camera_page):
    from playwright.sync_api import expect

    frame = scene().point(lambda v: v * 0.05)
    assert problems(measure(frame)) == ["image_too_dark"]
    page, errors = camera_page(frame)
    open_camera(page)
    expect(page.locator("[data-camera-hint]")).to_have_text(DARK)
    expect(page.locator("[data-camera-guide]")).to_have_class(re.compile(r"\bguide-warn\b"))
    expect(page.locator("[data-camera-shoot]")).to_be_enabled()  # the hints advise; the server's gate decides
    page.keyboard.press("Escape")
    assert_closed(page)
    assert errors == []


def test_a_blurry_frame_gets_the_focus_hint_and_the_gate_agrees(camera_page):
    from playwright.sync_api import expect

    frame = phantom("hairloss", "stage_2", seed=7, size=640).crop((0, 80, 640, 560))
    frame = frame.filter(ImageFilter.GaussianBlur(12))
    assert problems(measure(frame)) == ["image_too_blurry"]
    page, errors = camera_page(frame)
    open_camera(page)
    expect(page.locator("[data-camera-hint]")).to_have_text(BLURRY)
    expect(page.locator("[data-camera-guide]")).to_have_class(re.compile(r"\bguide-warn\b"))

    # taken anyway, the server refuses it for the same reason, and the new form has its camera again
    page.click("[data-camera-shoot]")
    expect(page.locator("[data-preview]")).to_be_visible()
    page.click("[data-submit]")
    expect(page.locator("#upload-error")).to_have_attribute("data-error-code", "image_too_blurry")
    expect(page.locator("[data-camera-open]")).to_be_visible()

    # a page that goes to the background stops the camera
    open_camera(page)
    page.evaluate("""() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    assert_closed(page)
    assert errors == []


def test_without_a_camera_the_file_picker_is_as_before(database, live_server, browser, tmp_path):
    from playwright.sync_api import expect

    if database != "sqlite":
        pytest.skip("the browser path is the same on every database")
    photo = tmp_path / "scalp.jpg"
    scene().save(photo, quality=90)
    upload = live_server.url + "/assess/hairloss"
    context = browser.new_context(**VIEWPORTS["phone"])
    context.add_init_script("delete Navigator.prototype.mediaDevices;")
    page = context.new_page()
    sign_up(page, live_server.url, "camera.user")
    page.goto(upload)
    assert page.evaluate("navigator.mediaDevices === undefined && typeof measureFrame === 'function'")
    expect(page.locator("[data-camera-open]")).to_be_hidden()
    expect(page.locator("[data-camera]")).to_be_hidden()
    inputs = page.eval_on_selector_all(
        "input[type=file]", "els => els.map((e) => [e.id, e.name, e.accept, e.getAttribute('capture')])"
    )
    assert inputs == [
        ["image-camera", "image", "image/*", "environment"],
        ["image-file", "image", "image/jpeg,image/png,image/webp", None],
    ]
    page.set_input_files("#image-camera", str(photo))
    expect(page.locator("[data-preview]")).to_be_visible()

    # a camera that is refused: a short message, and the file picker still works
    refused = browser.new_context(storage_state=context.storage_state(), **VIEWPORTS["phone"])
    refused.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('', 'NotAllowedError'));"
    )
    page = refused.new_page()
    page.goto(upload)
    page.click("[data-camera-open]")
    expect(page.locator("[data-camera-error]")).to_have_text(REFUSED)
    expect(page.locator("[data-camera]")).to_be_hidden()
    assert page.evaluate(FOCUSED, "[data-camera-open]")
    page.set_input_files("#image-file", str(photo))
    expect(page.locator("[data-preview]")).to_be_visible()
    context.close()
    refused.close()
