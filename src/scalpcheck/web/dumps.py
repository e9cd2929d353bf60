"""The database's side of backup and restore: SQLite's online backup, or `pg_dump` and `pg_restore` of the
schema the app's tables are in, and what a database holds (Facts) for the manifest and its checks.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import text as sql_text  # not `text`: `make messages` extracts text(...) calls
from sqlalchemy.exc import SQLAlchemyError

from scalpcheck.errors import UsageError
from scalpcheck.web.database import database_uri
from scalpcheck.web.storage import open_dir

COUNTED = ("users", "assessments", "visits")
SHOWN = 3  # tables named in a message

_SCHEMA_ENTRY = re.compile(r"\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA) ")


@dataclass
class Facts:
    """What a database holds, as the manifest records it and restore checks it."""

    revision: str
    counts: dict[str, int]
    images: dict[str, str]  # image key -> the stored photo's media type
    schema: str | None = None  # PostgreSQL: the schema the app's tables are in


class Database(Protocol):
    """One kind of database, as backup and restore use it."""

    kind: str

    def snapshot(self, target: Path) -> Facts:
        """Copy the database to `target` and return what that copy holds."""
        ...

    def live_keys(self, keys: list[str]) -> set[str]:
        """Those of `keys` that have an assessment row now."""
        ...

    def check_empty(self, schema: str | None) -> None: ...

    def load(self, source: Path) -> None: ...

    def facts(self) -> Facts: ...

    def forget(self, keys: list[str]) -> None:
        """Delete the assessments of these image keys, and visits they leave without a photo."""
        ...

    def clear(self) -> None:
        """Remove what load wrote (the database was empty before)."""
        ...


def connect(url: str) -> Database:
    from sqlalchemy.engine import make_url

    parsed = make_url(database_uri(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return SqliteDatabase(Path(parsed.database))
    if parsed.get_backend_name() == "postgresql":
        return PostgresDatabase(url)
    raise UsageError(f"backup and restore work with SQLite files and PostgreSQL, not {parsed.drivername}")


def read_facts(query: Callable[[str], Sequence]) -> Facts:
    try:
        revision = query("SELECT version_num FROM alembic_version")[0][0]
        counts = {table: query(f"SELECT count(*) FROM {table}")[0][0] for table in COUNTED}
        images = {
            key: media_type for key, media_type in query("SELECT image_key, image_type FROM assessments")
        }
    except (IndexError, sqlite3.Error, SQLAlchemyError) as exc:
        raise UsageError(
            f"not a scalpcheck database at the newest schema ({exc}): run `scalpcheck db upgrade`"
        ) from None
    return Facts(revision, counts, images)


def _forget(execute: Callable[[str, dict], list], keys: list[str]) -> None:
    for key in keys:
        visits = execute("SELECT visit_id FROM assessments WHERE image_key = :key", {"key": key})
        execute("DELETE FROM assessments WHERE image_key = :key", {"key": key})
        for (visit,) in visits:
            execute(
                "DELETE FROM visits WHERE id = :visit AND NOT EXISTS "
                "(SELECT 1 FROM assessments WHERE visit_id = :visit)",
                {"visit": visit},
            )


def sqlite_facts(path: Path, immutable: bool = False) -> Facts:
    uri = f"file:{path}?mode=ro" + ("&immutable=1" if immutable else "")
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return read_facts(lambda sql: conn.execute(sql).fetchall())


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = path

    def snapshot(self, target: Path) -> Facts:
        if not self.path.is_file():
            raise UsageError(f"there is no database at {self.path}")
        with (
            closing(sqlite3.connect(self.path, timeout=10)) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)  # one step, under one read transaction: a consistent snapshot
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        os.chmod(target, 0o600)
        return sqlite_facts(target)

    def live_keys(self, keys: list[str]) -> set[str]:
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            marks = ",".join("?" * len(keys))
            rows = conn.execute(f"SELECT image_key FROM assessments WHERE image_key IN ({marks})", keys)
            return {key for (key,) in rows}

    def check_empty(self, schema: str | None) -> None:
        if not self.path.exists():
            return
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if tables:
            raise UsageError(
                f"the database {self.path} is not empty (tables {', '.join(sorted(tables)[:SHOWN])}, ...): "
                "restore into an empty home"
            )

    def load(self, source: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            copy_file(source, tmp)
            for stale in self._files():  # an empty database file, and any journal of it
                stale.unlink(missing_ok=True)
            os.rename(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        with open_dir(self.path.parent) as fd:
            os.fsync(fd)

    def facts(self) -> Facts:
        return sqlite_facts(self.path)

    def forget(self, keys: list[str]) -> None:
        with closing(sqlite3.connect(self.path)) as conn, conn:
            _forget(lambda sql, params: conn.execute(sql, params).fetchall(), keys)

    def clear(self) -> None:
        for path in self._files():
            path.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        return [
            self.path,
            *(self.path.with_name(self.path.name + end) for end in ("-wal", "-shm", "-journal")),
        ]


class PostgresDatabase(Database):
    """pg_dump and pg_restore of the schema the app's tables are in (the URL's search_path, else public)."""

    kind = "postgresql"

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        self.url = make_url(database_uri(url))
        self.engine = create_engine(self.url, poolclass=NullPool)

    def snapshot(self, target: Path) -> Facts:
        from sqlalchemy import text as sql_text  # not `text`: `make messages` extracts sql_text(...) calls

        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump reads the snapshot this transaction holds, so the dump and our facts agree.
                exported = conn.scalar(sql_text("SELECT pg_export_snapshot()"))
                facts = read_facts(lambda sql: conn.execute(sql_text(sql)).all())
                facts.schema = conn.scalar(sql_text("SELECT current_schema()"))
                self._run(
                    "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    f"--schema={_quoted(facts.schema or 'public')}", f"--snapshot={exported}",
                    f"--file={target}", self._conninfo(),
                )  # fmt: skip
        os.chmod(target, 0o600)
        return facts

    def live_keys(self, keys: list[str]) -> set[str]:
        from sqlalchemy import bindparam
        from sqlalchemy import text as sql_text  # not `text`: `make messages` extracts sql_text(...) calls

        query = sql_text("SELECT image_key FROM assessments WHERE image_key IN :keys")
        with self.engine.connect() as conn:
            rows = conn.execute(query.bindparams(bindparam("keys", expanding=True)), {"keys": keys})
            return {key for (key,) in rows}

    def check_empty(self, schema: str | None) -> None:
        current = self._schema()
        if current is None:
            raise UsageError("DATABASE_URL's schema (its search_path) does not exist: create it first")
        if schema is not None and current != schema:
            raise UsageError(
                f"the backup holds schema {schema!r}, but DATABASE_URL's is {current!r}: restore into a "
                f"database whose search_path selects {schema!r}"
            )
        names = self._relations()
        if names:
            raise UsageError(
                f"the database's schema {current!r} is not empty (tables {', '.join(names[:SHOWN])}, ...): "
                "restore into an empty database"
            )

    def load(self, source: Path) -> None:
        listing = self._run("pg_restore", "--list", str(source))
        keep = [line for line in listing.splitlines() if not _SCHEMA_ENTRY.match(line)]  # the schema exists
        with tempfile.NamedTemporaryFile("w", suffix=".list") as entries:
            entries.write("\n".join(keep) + "\n")
            entries.flush()
            # One transaction: a failure anywhere leaves the schema as empty as it was.
            self._run(
                "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                f"--use-list={entries.name}", f"--dbname={self._conninfo()}", str(source),
            )  # fmt: skip

    def facts(self) -> Facts:

        with self.engine.connect() as conn:
            return read_facts(lambda sql: conn.execute(sql_text(sql)).all())

    def forget(self, keys: list[str]) -> None:

        with self.engine.begin() as conn:

            def execute(sql: str, params: dict) -> list:
                result = conn.execute(sql_text(sql), params)
                return list(result.all()) if result.returns_rows else []

            _forget(execute, keys)

    def clear(self) -> None:
        from sqlalchemy import text as sql_text  # not `text`: `make messages` extracts sql_text(...) calls

        schema = _quoted(self._schema() or "public")
        with self.engine.begin() as conn:
            for name in self._relations():
                conn.execute(sql_text(f"DROP TABLE IF EXISTS {schema}.{_quoted(name)} CASCADE"))
            for name in self._relations():  # what is left: sequences no table owned
                conn.execute(sql_text(f"DROP SEQUENCE IF EXISTS {schema}.{_quoted(name)} CASCADE"))

    def _schema(self) -> str | None:
        from sqlalchemy import text as sql_text  # not `text`: `make messages` extracts sql_text(...) calls

        with self.engine.connect() as conn:
            return conn.scalar(sql_text("SELECT current_schema()"))

    def _relations(self) -> list[str]:

        query = sql_text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "ORDER BY c.relkind <> 'r', c.relname"
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def _conninfo(self) -> str:
        return self.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)

    def _run(self, tool: str, *args: str) -> str:
        env = dict(os.environ)
        if self.url.password:  # in the environment, not on a command line others can list
            env["PGPASSWORD"] = str(self.url.password)
        done = subprocess.run([_pg_tool(tool), *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise UsageError(f"{tool} failed: {lines[0] if lines else f'exit status {done.returncode}'}")
        return done.stdout


def _pg_tool(name: str) -> str:
    """A PostgreSQL client tool: on PATH, else the newest of Debian's /usr/lib/postgresql/<n>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if not candidates:
        raise UsageError(f"{name} is not installed: install PostgreSQL's client tools or put them on PATH")
    return max(candidates, key=lambda path: int(re.sub(r"\D", "", Path(path).parts[-3]) or 0))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_file(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "xb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.chmod(target, 0o600)
