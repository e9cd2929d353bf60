"""Hardening fixtures: an app with models, a user who uploads through both doors, a tally of what was tried,
and real servers (gunicorn, a PostgreSQL cluster of the test's own).

The app fixtures (`database`, `make_app`, `client`, `auth`, ...) are the web tests' own, from
tests/conftest.py: every hardening test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
Every test reports what it tried through `tally`; tests/hardening/summary.py adds it up and prints the
suite's summary line.
"""

from __future__ import annotations

import pytest

from tests.hardening.summary import Tally
from tests.helpers import servers
from tests.helpers.http import Uploader, new_uploader
from tests.helpers.web import TEST_CONFIG


@pytest.fixture
def tally(request) -> Tally:
    """tally.tried(category, name) and tally.checked_storage(): what this test tried, for the summary line."""
    return Tally(request.node)


@pytest.fixture
def app(random_models, make_app):
    """An app serving the random-weight models (`client`, `auth` and `uploader` build on it)."""
    return make_app()


@pytest.fixture
def uploader(app, client) -> Uploader:
    """A registered, logged-in user "alice" with an API token."""
    return new_uploader(client)


@pytest.fixture
def gunicorn(tmp_path, make_app):
    """gunicorn(config=None, workers=2, env=None, faults=False) -> a ready servers.Gunicorn.

    Started as in production (scalpcheck.gunicorn_conf), on a free loopback port, with the app factory
    given the test settings and `config`. The database is migrated first (make_app), as `scalpcheck db
    upgrade` does before production workers start. `faults=True` loads tests/helpers/gunicorn_faults.py
    instead: the production settings plus a pause a request can ask for, so that the test can kill a worker
    there. Every server is stopped at the end of the test.
    """
    started = []

    def start(config: dict | None = None, workers: int = 2, env: dict | None = None, faults: bool = False):
        app = make_app()
        app_config = {**TEST_CONFIG, **(config or {})}
        app_config.pop("TESTING")  # a production app: errors are answered, not raised
        logs = tmp_path / f"gunicorn-{len(started)}"
        config_file = servers.FAULTS_CONFIG if faults else servers.PRODUCTION_CONFIG
        server = servers.start_gunicorn(app_config, workers, env or {}, config_file, logs)
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
