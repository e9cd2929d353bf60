"""Web app fixtures in the style of Flask's tutorial: an app with its own home and database, a client, and
an `auth` helper; plus photos to upload.

Every test runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test): each such test gets a fresh schema, selected with the
connection's search_path and dropped afterwards. The schema is always built by the migrations.
"""

from __future__ import annotations

import io
import os
import secrets

import numpy as np
import pytest
from PIL import Image, ImageFilter
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from scalpcheck.bundle import read_card
from scalpcheck.data.synth import render_phantom
from scalpcheck.web import create_app
from scalpcheck.web.database import upgrade
from scalpcheck.web.extensions import APP_STATE, db
from scalpcheck.web.models import Assessment, User

PASSWORD = "correct horse battery"
TEST_CONFIG = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,  # tests that check CSRF turn it back on
    "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
    "ARGON2_PROFILE": "CHEAPEST",  # a real argon2id hash, at test speed
}

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def database(request, monkeypatch):
    """The backend name; DATABASE_URL points at a fresh database (SQLite in the home, or a new schema)."""
    if request.param == "sqlite":
        yield "sqlite"  # the default: scalpcheck.db in the test's home folder
        return
    base_url = make_url(os.environ["TEST_DATABASE_URL"])
    schema = f"test_{secrets.token_hex(6)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base_url.update_query_dict({"options": f"-csearch_path={schema}"})
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    yield "postgresql"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def make_app(database):
    """make_app(**config) -> a migrated app; its connections are closed before the database goes."""
    apps = []

    def make(**config):
        app = create_app({**TEST_CONFIG, **config})
        upgrade(app)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    password = PASSWORD

    def __init__(self, client):
        self._client = client

    def register(self, username: str = "alice", password: str = PASSWORD, confirm: str | None = None):
        data = {
            "username": username,
            "password": password,
            "confirm": password if confirm is None else confirm,
        }
        return self._client.post("/auth/register", data=data)

    def login(self, username: str = "alice", password: str = PASSWORD, next_page: str | None = None):
        url = "/auth/login" if next_page is None else f"/auth/login?next={next_page}"
        return self._client.post(url, data={"username": username, "password": password})

    def signup(self, username: str = "alice", password: str = PASSWORD):
        """Register and log in; fails the test if either does not work."""
        assert self.register(username, password).status_code == 303
        assert self.login(username, password).status_code == 303

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def stored(app):
    """stored() -> (assessment rows, files under uploads/): what a refused upload must leave at (0, 0)."""

    def count() -> tuple[int, int]:
        uploads = app.extensions[APP_STATE]["store"].root
        files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(Assessment))
        return rows, len(files)

    return count


@pytest.fixture
def user_id(app):
    """user_id(username) -> the user's id, or None when there is no such user."""

    def find(username: str) -> int | None:
        with app.app_context():
            return db.session.scalar(select(User.id).where(User.username == username))

    return find


@pytest.fixture
def auth_rows():
    """auth_rows(app, image_key) -> an assessment row (of a new user) whose images are under `image_key`."""

    def make(app, image_key: str) -> int:
        with app.app_context():
            user = User(username=f"user-{image_key[:8]}", password_hash="not a login")
            db.session.add(user)
            db.session.flush()
            row = Assessment(
                user_id=user.id,
                task="scalp",
                label="healthy",
                display_name="Healthy scalp",
                confidence=0.9,
                probabilities={"healthy": 0.9},
                low_confidence=False,
                alternatives=[],
                advice={},
                model_version="scalp-test",
                model_backbone="efficientnet_lite0",
                synthetic_data=True,
                image_key=image_key,
                image_type="image/jpeg",
            )
            db.session.add(row)
            db.session.commit()
            return row.id

    return make


def jpeg_bytes(img: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=params.pop("quality", 90), **params)
    return buffer.getvalue()


@pytest.fixture
def phantom():
    """phantom(task="scalp", label="healthy", seed=0, size=256) -> a synthetic scalp photo (PIL, RGB)."""

    def make(task: str = "scalp", label: str = "healthy", seed: int = 0, size: int = 256) -> Image.Image:
        return render_phantom(task, label, np.random.default_rng(seed), size=size)

    return make


@pytest.fixture
def phantom_jpeg(phantom):
    """phantom_jpeg(task, label, seed, size) -> JPEG bytes of a phantom."""
    return lambda *args, **kwargs: jpeg_bytes(phantom(*args, **kwargs))


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
def bad_photo(request, phantom):
    """bad_photo(kind) -> (error code, HTTP status, file bytes): a real file for each refusal of DESIGN.md.

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
