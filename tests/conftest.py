"""Fixtures every test folder shares. Helpers that are plain functions are in tests/helpers/.

A test's home and models:

- `home` (automatic): a fresh SCALPCHECK_HOME per test, so its own SQLite database, image store and models;
  the model hub is offline, so no test downloads or depends on weights a developer happens to have.
- `random_bundles`: real bundles written by the one exporter from random weights; every serving code path
  runs on them, but they predict nothing and accept every photo. `random_models` publishes them into the
  test's home.
- `trained_bundles` / `published_models`: small models really trained on phantoms for both tasks, built
  once per test run (shared by the xdist workers through a lock) and published into a test's home.

The web app, for tests/web and tests/hardening (in the style of Flask's tutorial):

- `database`: every test that uses the app runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL
  is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test): each such test gets a fresh schema,
  selected with the connection's search_path and dropped afterwards. The schema is always built by the
  migrations.
- `make_app`, `app` (an app without models; folders and modules override it with one that has models),
  `client`, `auth` (tests.helpers.web.AuthActions on the client) and `user_id`.
- `smtp`: a real SMTP server on loopback (tests.helpers.mail) for the mail the app sends.

The hardening suite's summary line (tests/hardening/summary.py) is registered here too.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest

from tests.hardening.summary import Summary
from tests.helpers.photos import STYLE
from tests.helpers.web import TEST_CONFIG, AuthActions

# Phantoms a class for the shared trained models: enough to refuse non-scalps and accept ~99 % of new ones.
TRAINED_PER_CLASS = 40


def pytest_configure(config):
    """Registered here, not in tests/hardening/conftest.py: under xdist the controller, which prints the
    summary, runs no test and so loads only this conftest."""
    config.pluginmanager.register(Summary(), "hardening-summary")


def pytest_runtest_setup(item):
    """Under `--dist loadgroup`, fails a grouped test whose xdist_group mark was ignored (as pytest-xdist 3.8
    ignores it under pytest 9.2): each group's expensive fixture would then be built by every worker."""
    grouped = getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group")
    if grouped and "@" not in item.nodeid:
        pytest.fail("this pytest and pytest-xdist ignore xdist_group marks (see the pin in pyproject.toml)")


# ------------------------------------------------------------------------------------- home and models
@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh SCALPCHECK_HOME per test; nothing a test writes leaks into ./var or another test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("SCALPCHECK_HOME", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY", "MAX_UPLOAD_MB", "IMAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("IMAGE_STORE_URL", "IMAGE_STORE_SETTLE_AFTER_S", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture(scope="session")
def random_bundles(tmp_path_factory) -> dict[str, Path]:
    """{task: bundle folder} for both built-in tasks, from random weights (see the module docstring)."""
    from scalpcheck.learn.export import untrained_bundle
    from scalpcheck.tasks import TASKS

    root = tmp_path_factory.mktemp("random-bundles")
    return {
        name: untrained_bundle(root / name, task, seed=seed)
        for seed, (name, task) in enumerate(TASKS.items(), 1)
    }


@pytest.fixture
def random_models(home, random_bundles) -> Path:
    """The test home's models/ folder with both random-weight bundles published, as `make run` leaves it:
    they accept every photo that passes the quality gate, so every supported file comes out as an
    assessment."""
    from scalpcheck import bundle

    for task, path in random_bundles.items():
        bundle.publish(path, home / "models", task)
    return home / "models"


@pytest.fixture(scope="session")
def trained_bundles(tmp_path_factory, worker_id) -> dict[str, Path]:
    """{task: bundle folder}: `scalpcheck train` defaults (efficientnet_lite0, offline ImageNet weights, one
    tuning trial) on TRAINED_PER_CLASS phantoms a class, for both built-in tasks.

    Made once per test run: the first xdist worker to get here trains, the others wait on the lock and reuse.
    """
    from filelock import FileLock

    from scalpcheck.data.synth import write_dataset
    from scalpcheck.learn.train import TrainOptions, run
    from scalpcheck.settings import load_settings

    run_temp = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # xdist: each worker has its own folder inside this run's
        run_temp = run_temp.parent
    root = run_temp / "trained-bundles"
    root.mkdir(exist_ok=True)
    bundles = {}
    with FileLock(str(root / ".lock")), pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        for seed, task in enumerate(("scalp", "hairloss"), 3):
            done = root / task / "bundle"
            if not done.is_dir():
                work = root / f"{task}-work"
                shutil.rmtree(work, ignore_errors=True)
                # One style: these small models stand in for a trained one in the web tests, which upload
                # phantoms of that style (tests.helpers.photos); the demo models learn the mix of styles.
                phantoms = work / "phantoms"
                write_dataset(task, TRAINED_PER_CLASS, seed=seed, out=phantoms, style=STYLE, progress=False)
                settings = load_settings({"SCALPCHECK_HOME": str(work / "home")})
                options = TrainOptions(task=task, data=work / "phantoms", trials=1, progress=False)
                result = run(options, settings)
                (root / task).mkdir(exist_ok=True)
                shutil.copytree(result.bundle_dir, root / task / ".bundle-tmp", dirs_exist_ok=True)
                (root / task / ".bundle-tmp").rename(done)
            bundles[task] = done
    return bundles


@pytest.fixture
def published_models(home, trained_bundles) -> Path:
    """The test home's models/ folder with both trained bundles published, as `make run` leaves it."""
    from scalpcheck import bundle

    for task, path in trained_bundles.items():
        bundle.publish(path, home / "models", task)
    return home / "models"


# ---------------------------------------------------------------------------------------------- the app
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
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

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
    """make_app(**config) -> a migrated app with TEST_CONFIG and `config`; its connections are closed before
    the database goes."""
    from scalpcheck.web import create_app
    from scalpcheck.web.database import upgrade
    from scalpcheck.web.extensions import db

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
    """A migrated app with no models published (tests that assess override this fixture)."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def user_id(app):
    """user_id(username) -> the user's id, or None when there is no such user."""
    from sqlalchemy import select

    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import User

    def find(username: str) -> int | None:
        with app.app_context():
            return db.session.scalar(select(User.id).where(User.username == username))

    return find


@pytest.fixture(scope="session")
def s3_servers():
    """The session's S3-compatible servers on loopback, started when first asked for."""
    from tests.helpers.s3 import start_s3

    started: dict = {}

    def get(kind: str):
        if kind not in started:
            started[kind] = start_s3(kind)
        return started[kind]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(params=["rclone", "moto"])
def s3(request, s3_servers, monkeypatch):
    """A fresh bucket on rclone's S3 server, and again on moto's; IMAGE_STORE_URL points the app at it.
    `s3.server` is the server, `s3.bucket` the bucket."""
    from types import SimpleNamespace

    server = s3_servers(request.param)
    bucket = server.new_bucket()
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IMAGE_STORE_URL", f"s3://{bucket}/scalpcheck")
    return SimpleNamespace(server=server, bucket=bucket, kind=request.param)


@pytest.fixture
def smtp():
    """A real SMTP server on loopback; `smtp.config` points an app at it, `smtp.inbox` holds what came."""
    from tests.helpers.mail import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()
