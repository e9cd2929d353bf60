"""Hardening fixtures: the web fixtures, an app with models, a tally of what was tried, real gunicorn servers.

The web fixtures (`database`, `make_app`, `client`, `auth`, ...) live in tests/web/conftest.py, which pytest
applies to tests/web only; they are imported here so that every hardening test runs on SQLite and, when
TEST_DATABASE_URL is set, on PostgreSQL, exactly as the web tests do.

Every test reports what it tried through `tally`; summary.py adds it up and prints the suite's summary line.
"""

from __future__ import annotations

import collections
import importlib.util
import io
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from sqlalchemy import func, select


def _load(path: Path, name: str):
    """A module by path: test folders are not packages (pytest runs with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


HERE = Path(__file__).resolve().parent
_web = _load(HERE.parent / "web" / "conftest.py", "hardening_web_fixtures")
catalog = _load(HERE / "catalog.py", "hardening_catalog")
summary = _load(HERE / "summary.py", "hardening_tally")
servers = _load(HERE / "servers.py", "hardening_servers")
# Re-exported: pytest finds fixtures by name in this module.
database = _web.database
make_app = _web.make_app
client = _web.client
auth = _web.auth
user_id = _web.user_id
phantom = _web.phantom
phantom_jpeg = _web.phantom_jpeg
AuthActions = _web.AuthActions
PASSWORD = _web.PASSWORD
TEST_CONFIG = _web.TEST_CONFIG


def pytest_generate_tests(metafunc):
    """Tests that take `upload_kind` run once per kind of bad upload in catalog.py."""
    if "upload_kind" in metafunc.fixturenames:
        metafunc.parametrize("upload_kind", list(catalog.UPLOADS))


@pytest.fixture
def uploads_catalog():
    """catalog.py: UPLOADS, POLYGLOT_PAYLOADS, ACCEPTED and the file makers."""
    return catalog


@pytest.fixture
def tally(request):
    """tally.tried(category, name) and tally.checked_storage(): what this test tried, for the summary line
    (summary.py)."""
    return summary.Tally(request.node)


# ------------------------------------------------------------------------------------ apps and storage
@pytest.fixture
def app(random_models, make_app):
    """An app serving the random-weight models (web fixtures such as `client` and `auth` build on it)."""
    return make_app()


@pytest.fixture
def random_models(home, random_bundles) -> Path:
    """The test home's models/ with both random-weight bundles published: they accept every photo that
    passes the quality gate, so every supported file must come out as an assessment."""
    from scalpcheck import bundle

    for task, path in random_bundles.items():
        bundle.publish(path, home / "models", task)
    return home / "models"


@dataclass(frozen=True)
class StoreState:
    rows: int
    files: tuple[str, ...]  # every file under uploads/, relative
    pending: tuple[str, ...]  # entries of uploads/.pending

    def image_keys(self) -> set[str]:
        return {Path(f).parts[1] for f in self.files if not f.startswith(".pending")}


def store_state(app) -> StoreState:
    """What the database and the image store hold now."""
    from scalpcheck.web.extensions import APP_STATE, db
    from scalpcheck.web.models import Assessment

    root = app.extensions[APP_STATE]["store"].root
    files = tuple(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()))
    pending = (
        tuple(sorted(p.name for p in (root / ".pending").iterdir())) if (root / ".pending").is_dir() else ()
    )
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Assessment))
    return StoreState(rows, files, pending)


def assert_consistent(app) -> StoreState:
    """Every row has its three images and every image its row; nothing is left half-done."""
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import Assessment

    state = store_state(app)
    with app.app_context():
        keys = set(db.session.scalars(select(Assessment.image_key)))
    assert state.pending == (), f"operations left pending: {state.pending}"
    assert state.image_keys() == keys, "images without rows or rows without images"
    per_key = collections.Counter(Path(f).parts[1] for f in state.files)
    assert all(n == 3 for n in per_key.values()), f"incomplete image folders: {per_key}"
    return state


# ---------------------------------------------------------------------------------------------- uploads
CHANNELS = ("web", "api")


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str | None  # the DESIGN.md error code; None for an assessment, or a page that names no code
    assessment_id: int | None
    body: bytes

    @property
    def accepted(self) -> bool:
        return self.assessment_id is not None


class Uploader:
    """One logged-in user who uploads through the web form (session cookie) and the API (bearer token)."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def send(self, channel: str, *parts: tuple, task: str | None = "scalp") -> Outcome:
        """Upload these multipart parts; the API also gets the form field `task`."""
        if channel == "api" and task is not None:
            parts = (*parts, ("task", task))
        return self.send_raw(channel, *multipart(*parts), task=task or "scalp")

    def send_raw(self, channel: str, body: bytes, content_type: str, task: str = "scalp") -> Outcome:
        if channel == "web":
            url = f"/assess/{quote(task, safe='')}"
            response = self.client.post(url, data=body, content_type=content_type)
            if response.status_code == 303:
                assessment_id = int(response.headers["Location"].rsplit("/", 1)[1])
                return Outcome(303, None, assessment_id, response.data)
            found = re.search(rb'data-error-code="([a-z_]+)"', response.data)
            return Outcome(response.status_code, found and found.group(1).decode(), None, response.data)
        response = self.client.post(
            "/api/v1/assessments", data=body, content_type=content_type, headers=self.headers
        )
        if response.status_code == 201:
            return Outcome(201, None, response.json["id"], response.data)
        assert response.mimetype == "application/json", response.data[:300]
        return Outcome(response.status_code, response.json["error"]["code"], None, response.data)

    def get(self, path: str):
        """GET an API path as this user."""
        return self.client.get(path, headers=self.headers)

    def assert_readable(self, assessment_id: int) -> dict:
        """The assessment, its photo and its overlay can be read back, by the page and by the API."""
        assert self.client.get(f"/assessments/{assessment_id}").status_code == 200
        for kind in ("image", "heatmap"):
            response = self.get(f"/api/v1/assessments/{assessment_id}/{kind}")
            assert response.status_code == 200 and response.mimetype in ("image/jpeg", "image/png")
            Image.open(io.BytesIO(response.data)).verify()
        response = self.get(f"/api/v1/assessments/{assessment_id}")
        assert response.status_code == 200
        return response.json


def new_uploader(client, username: str = "alice") -> Uploader:
    """Register `username`, log the client in and get an API token."""
    auth = AuthActions(client)
    auth.signup(username)
    response = client.post("/api/v1/tokens", auth=(username, auth.password))
    assert response.status_code == 201
    return Uploader(client, response.json["token"])


@pytest.fixture
def uploader(app, client) -> Uploader:
    """A registered, logged-in user "alice" with an API token."""
    return new_uploader(client)


@pytest.fixture
def kit():
    """This folder's helpers, for test modules (under --import-mode=importlib they cannot import conftest)."""
    return types.SimpleNamespace(
        channels=CHANNELS,
        store_state=store_state,
        assert_consistent=assert_consistent,
        multipart=multipart,
        new_uploader=new_uploader,
        uploader_for=Uploader,
        auth=AuthActions,
    )


# ------------------------------------------------------------------------------------- multipart bodies
BOUNDARY = "hardening-4a1f9c"


def multipart(*parts: tuple) -> tuple[bytes, str]:
    """A multipart/form-data body, byte for byte as given: (name, value) or (name, filename, data).

    Written by hand so that filenames can hold what a browser would never send (NUL, quotes, 64 KB).
    """
    chunks = []
    for part in parts:
        name, filename, data = (part[0], None, part[1]) if len(part) == 2 else part
        header = b'Content-Disposition: form-data; name="' + _b(name) + b'"'
        if filename is not None:
            header += b'; filename="' + _b(filename) + b'"\r\nContent-Type: application/octet-stream'
        chunks.append(b"--" + BOUNDARY.encode() + b"\r\n" + header + b"\r\n\r\n" + _b(data) + b"\r\n")
    body = b"".join(chunks) + b"--" + BOUNDARY.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def _b(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


PRODUCTION_CONFIG = "python:scalpcheck.gunicorn_conf"  # the README's production settings
FAULT_HOOKS = str(HERE / "gunicorn_faults.py")  # the same, plus a pause a request can ask for


@pytest.fixture
def gunicorn(tmp_path, make_app):
    """gunicorn(config=None, workers=2, env=None, faults=False) -> a ready servers.Gunicorn.

    Started as in production (scalpcheck.gunicorn_conf), on a free loopback port, with the app factory
    given the test settings and `config`. The database is migrated first (make_app), as `scalpcheck db
    upgrade` does before production workers start. `faults=True` loads gunicorn_faults.py instead: the
    production settings plus a pause a request can ask for, so that the test can kill a worker there.
    Every server is stopped at the end of the test.
    """
    started = []

    def start(config: dict | None = None, workers: int = 2, env: dict | None = None, faults: bool = False):
        app = make_app()
        app_config = {**TEST_CONFIG, **(config or {})}
        app_config.pop("TESTING")  # a production app: errors are answered, not raised
        logs = tmp_path / f"gunicorn-{len(started)}"
        server = servers.start_gunicorn(
            app_config, workers, env or {}, FAULT_HOOKS if faults else PRODUCTION_CONFIG, logs
        )
        server.app = app
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def private_postgres():
    """A throwaway PostgreSQL server (servers.PrivatePostgres) for the tests that stop or restart one.

    The server at TEST_DATABASE_URL serves the other PostgreSQL tests, in parallel under xdist; restarting
    it would fail them. This cluster is made with initdb in a few seconds and removed afterwards.
    """
    cluster = servers.start_postgres()
    if cluster is None:
        pytest.skip("no PostgreSQL server binaries here, or root without runuser to run them")
    yield cluster
    cluster.remove()
