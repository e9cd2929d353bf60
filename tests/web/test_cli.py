"""The web commands: `scalpcheck db upgrade`, and `serve`/`demo` refusing bad addresses in one line."""

from __future__ import annotations

import socket

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from scalpcheck.cli import main
from scalpcheck.web import create_app
from scalpcheck.web.database import database_uri
from scalpcheck.web.extensions import db


def test_db_upgrade_builds_the_schema(home, capsys):
    assert main(["db", "upgrade"]) == 0
    assert "is at the newest schema" in capsys.readouterr().out
    app = create_app()
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "assessments", "api_tokens", "alembic_version"} <= tables
    assert main(["db", "upgrade"]) == 0  # running it again changes nothing


def test_migrations_match_the_models(app):
    """The schema the migrations build is the one the models describe (on each backend)."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app, database):
    if database != "sqlite":
        pytest.skip("SQLite settings")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_unusable_database_is_a_one_line_error(home, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{home}/missing/folder/db.sqlite")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scalpcheck db: error: cannot migrate the database") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_uri_picks_psycopg3(url, expected):
    assert database_uri(url) == expected


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_refuses_a_bad_port(port, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", port])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_serve_reports_a_busy_port(home, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
