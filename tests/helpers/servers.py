"""Real servers for the hardening tests: gunicorn serving the app, and a PostgreSQL cluster of one's own.

Plain helpers; the fixtures that start and stop them (`gunicorn`, `private_postgres`) are in
tests/hardening/conftest.py.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_CONFIG = "python:scalpcheck.gunicorn_conf"  # the README's production settings
FAULTS_CONFIG = "python:tests.helpers.gunicorn_faults"  # the same, plus a pause a request can ask for


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def http_request(
    base_url: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
    timeout: float = 60,
    source: str | None = None,
) -> Reply:
    """One request on a fresh connection (as separate clients make them), from the loopback address
    `source` when given (127.0.0.2 is another client to the server's rate limits)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@dataclass
class Gunicorn:
    """A gunicorn master with its workers, serving scalpcheck.web:create_app(config) on loopback."""

    process: subprocess.Popen
    log: Path
    access_log: Path
    base_url: str = ""
    app: object = None  # the fixture's: the same app in the test process, to look at what is stored

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def workers(self) -> list[int]:
        """The live worker pids (children of the master)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[1]) == self.process.pid and fields[0] != "Z":
                    found.append(int(entry.name))
        return sorted(found)

    def request(self, method: str, path: str, **kwargs) -> Reply:
        return http_request(self.base_url, method, path, **kwargs)

    def wait_ready(self, workers: int, timeout: float = 90, replacing: frozenset[int] = frozenset()) -> None:
        """Until the master listens, `workers` workers run (none of them one of `replacing`, the pids of
        killed ones) and the app answers /healthz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()[-3000:]}")
            if not self.base_url:
                found = re.search(r"Listening at: (http://[\d.]+:\d+)", self.log_text())
                self.base_url = found.group(1) if found else ""
            live = set(self.workers())
            if self.base_url and len(live) == workers and not live & replacing:
                try:
                    if self.request("GET", "/healthz", timeout=10).status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready:\n{self.log_text()[-3000:]}")

    def wait_booted(self, count: int, timeout: float = 60) -> None:
        """Until the app has been created in `count` worker processes since the start (one log line each)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count("Booting worker with pid") >= count and len(self.workers()) >= 2:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn workers did not restart:\n{self.log_text()[-3000:]}")

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker, in MiB."""
        sizes = {}
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            sizes[pid] = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
        return sizes

    def access(self) -> list[tuple[int, str, str, int]]:
        """(worker pid, method, path, status) of every answered request, from the access log."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return [
            (int(p.strip("<>")), m, u, int(s))
            for p, m, u, s in (line.split() for line in lines if line.strip())
        ]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(app_config: dict, workers: int, env: dict, config_file: str, logs: Path) -> Gunicorn:
    """Start `scalpcheck.web:create_app(app_config)` under gunicorn on a free loopback port, with the
    settings of `config_file` (PRODUCTION_CONFIG or FAULTS_CONFIG); its logs go to `logs`-error.log and
    `logs`-access.log (the access log names the worker of each request)."""
    log, access_log = logs.with_name(logs.name + "-error.log"), logs.with_name(logs.name + "-access.log")
    command = [
        sys.executable, "-m", "gunicorn",
        "--config", config_file,
        "--bind", "127.0.0.1:0",
        "--workers", str(workers),
        "--graceful-timeout", "5",
        "--no-control-socket",  # one path per user: servers started side by side would contend for it
        "--error-logfile", str(log),
        "--access-logfile", str(access_log),
        "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
        f"scalpcheck.web:create_app({app_config!r})",
    ]  # fmt: skip
    environment = {**os.environ, **env}
    if config_file.startswith("python:tests."):  # a config module of the test suite: import it from the root
        environment["PYTHONPATH"] = os.pathsep.join(
            path for path in (str(REPO_ROOT), environment.get("PYTHONPATH")) if path
        )
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Gunicorn(process, log, access_log)
    try:
        server.wait_ready(workers)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test's own, in a temporary folder, on a free port."""

    bindir: Path
    base: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, action: str, *args: str) -> None:
        # The server logs to a file: with pg_ctl's output captured instead, it would hold the pipe open.
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(self.bindir / "pg_ctl"), action, "-D", str(self.base / "data"), "-w", *args]
        if action in ("start", "restart"):
            command += ["-o", options, "-l", str(self.base / "server.log")]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=120)

    def remove(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def restart(self, since: float) -> tuple[float, float]:
        """Restart it now, cutting every connection (a fast shutdown); returns when it went down and when it
        accepted connections again, in seconds from `since` (a time.monotonic())."""
        down = time.monotonic() - since
        self.pg_ctl("restart", "-m", "fast")
        return down, time.monotonic() - since


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_postgres() -> PrivatePostgres | None:
    """A new cluster made with initdb (a few seconds) and started; None when this machine cannot run one."""
    initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not initdbs or (os.geteuid() == 0 and not shutil.which("runuser")):
        return None
    base = Path(tempfile.mkdtemp(prefix="scalpcheck-pg-"))  # pytest's tmp_path is closed to other users
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = PrivatePostgres(initdbs[-1].parent, base, port)
    initdb = [str(cluster.bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "-A", "trust"]
    subprocess.run(_as_postgres([*initdb, "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    cluster.pg_ctl("start")
    return cluster
