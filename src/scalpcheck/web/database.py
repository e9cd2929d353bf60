"""Database URL, per-connection settings, and the schema migrations.

SQLite is the zero-setup default and PostgreSQL the production choice; both run the same Alembic
migrations, shipped inside the package so that `scalpcheck db upgrade` works from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

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


def upgrade(app: Flask) -> None:
    """Bring the app's database to the newest schema (what `scalpcheck db upgrade` runs)."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))
        command.upgrade(config, "head")
