"""Fixtures of the web tests only: what is stored, an API token, rows made by hand, a real bad file for each
refusal, and the app served over HTTP to a real browser.

The app itself (`database`, `make_app`, `app`, `client`, `auth`, `user_id`) comes from tests/conftest.py,
because the hardening tests use it too.
"""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image, ImageFilter
from sqlalchemy import func, select
from werkzeug.serving import make_server

from scalpcheck.bundle import read_card
from scalpcheck.web.extensions import app_state, db
from scalpcheck.web.models import Assessment, User
from tests.helpers.browser import launch
from tests.helpers.photos import jpeg_bytes, phantom
from tests.helpers.storage import assessment_row


@pytest.fixture
def stored(app):
    """stored() -> (assessment rows, files under uploads/): what a refused upload must leave at (0, 0)."""

    def count() -> tuple[int, int]:
        uploads = app_state(app).store.root
        files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
        files = [p for p in files if p.relative_to(uploads).parts[0] != ".keys"]  # not the key checks
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(Assessment))
        return rows, len(files)

    return count


@pytest.fixture
def token(client, auth):
    """token(username="alice") -> a bearer token of a newly registered user."""

    def make(username: str = "alice") -> str:
        assert auth.register(username).status_code == 303
        response = client.post("/api/v1/tokens", auth=(username, auth.password))
        assert response.status_code == 201
        return response.json["token"]

    return make


@pytest.fixture
def auth_rows():
    """auth_rows(app, image_key) -> an assessment row (of a new user) whose images are under `image_key`."""

    def make(app, image_key: str) -> int:
        with app.app_context():
            user = User(username=f"user-{image_key[:8]}", password_hash="not a login")
            db.session.add(user)
            db.session.flush()
            row = assessment_row(user.id, image_key)
            db.session.add(row)
            db.session.commit()
            return row.id

    return make


def _not_a_scalp() -> Image.Image:
    """A real, sharp, well-exposed photo of something else: scikit-image's cup of coffee."""
    import skimage.data

    return Image.fromarray(skimage.data.coffee())


def _gif(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "GIF")
    return buffer.getvalue()


def _pixel_bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (9000, 8000)).save(buffer, "PNG")  # 72 megapixels in a few kilobytes
    return buffer.getvalue()


@pytest.fixture
def bad_photo(request):
    """bad_photo(kind) -> (error code, HTTP status, file bytes): a real file for each image refusal of
    docs/errors.md.

    "not-a-scalp" needs published models that can tell a scalp from a cup of coffee, that is models trained
    from pretrained weights; on random-init bundles the test is skipped, saying so.
    """
    makers = {
        "blurry": (
            "image_too_blurry",
            422,
            lambda: jpeg_bytes(phantom(seed=11).filter(ImageFilter.GaussianBlur(10))),
        ),
        "dark": ("image_too_dark", 422, lambda: jpeg_bytes(phantom(seed=12).point(lambda v: v * 0.03))),
        "bright": (
            "image_too_bright",
            422,
            lambda: jpeg_bytes(phantom(seed=13).point(lambda v: 255 - (255 - v) * 0.03)),
        ),
        "small": ("image_too_small", 422, lambda: jpeg_bytes(phantom(seed=14).resize((64, 64)))),
        "not-a-scalp": ("not_a_scalp_image", 422, lambda: jpeg_bytes(_not_a_scalp())),
        "text": ("unsupported_image", 415, lambda: b"this is a text file, not a photo\n" * 20),
        "gif": ("unsupported_image", 415, lambda: _gif(phantom(seed=15))),
        "pixel-bomb": ("image_too_large", 413, _pixel_bomb),
    }

    def make(kind: str) -> tuple[str, int, bytes]:
        if kind == "not-a-scalp":
            card = read_card(request.getfixturevalue("published_models") / "scalp")
            if not card.backbone.pretrained:
                pytest.skip(
                    "refusing a non-scalp photo needs a trained scalp model; these bundles are random-init"
                )
        code, status, build = makers[kind]
        return code, status, build()

    return make


class LiveServer:
    """The app served over HTTP on a loopback port, in a thread. stop() takes it off the network as a lost
    connection would (what a browser still shows then came from one of its caches); start() brings it back
    on the same port."""

    def __init__(self, app) -> None:
        self.app, self.port = app, 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def live_server(published_models, make_app):
    server = LiveServer(make_app())
    yield server
    server.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
