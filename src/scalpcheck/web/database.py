"""Database URL, per-connection settings, and the schema migrations.

SQLite is the zero-setup default and PostgreSQL the production choice; both run the same Alembic
migrations, shipped inside the package so that `scalpcheck db upgrade` works from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000


def database_uri(url: str) -> str:
    """The SQLAlchemy URL to use: plain PostgreSQL URLs get the psycopg 3 driver, the one installed."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def tune_engine(engine: Engine) -> None:
    """SQLite: write-ahead log, a busy timeout and enforced foreign keys, on every new connection.

    WAL lets readers go on while one worker writes, and the busy timeout makes a second writer wait for the
    lock instead of failing at once (several gunicorn workers write assessments at the same time). Foreign
    keys are off by default in SQLite; the ON DELETE CASCADE that removes a user's rows needs them.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()


def end_sessions_quietly(app: Flask, db: SQLAlchemy) -> None:
    """Close each request's session even when the database went away after the response was made.

    Closing rolls the connection back; if the server was shut down in between (a PostgreSQL restart),
    that rollback fails in Flask's teardown, after the response, and gunicorn answers 500 instead of the
    finished response. Registered after Flask-SQLAlchemy's own teardown, this runs first (teardowns run
    in reverse order): the failed rollback has already marked the connection dead, so closing again
    succeeds, and the pool opens a new connection for the next request.
    """

    @app.teardown_appcontext
    def _close_session(_exc):
        try:
            db.session.remove()
        except DBAPIError:
            app.logger.warning("database connection lost while closing a session; it is discarded")
            db.session.remove()


def upgrade(app: Flask) -> None:
    """Bring the app's database to the newest schema (what `scalpcheck db upgrade` runs)."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))
        command.upgrade(config, "head")
