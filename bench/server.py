"""Serving scalpcheck (or the baseline) with gunicorn on loopback, for the HTTP benchmarks.

- `models_home()`: a home folder with the demo models (scalpcheck.learn.demo: 50 phantoms a class,
  efficientnet_lite0, published as `make run` publishes them), trained once and kept in bench/.cache/home:
  later runs start at once. `fp32_models()`: the float bundles they were trained as.
- `server_home(root)`: a fresh home for one server: the cached models linked in, an empty database at the
  newest schema, one user and an API token.
- `Server`: gunicorn started in its own process group, waited for, stopped.
- `ratelimit_storage()`: where both servers keep their rate-limit counters: Redis, as production runs with
  several workers (README), when one answers at BENCH_REDIS_URL (default redis://127.0.0.1:6379/15); else
  memory://, which starts a timer thread on most requests.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
USERNAME, PASSWORD = "bench", "a long benchmark password"
# The API's per-client rate limit would refuse a load generator; everything else is production's.
BENCH_CONFIG = {"RATELIMIT_API": "1000000 per minute"}
SCALPCHECK_APP = f"scalpcheck.web:create_app({BENCH_CONFIG!r})"
BASELINE_APP = f"bench.baseline_app:create_baseline_app({BENCH_CONFIG!r})"
START_TIMEOUT_S = 120


def models_home() -> Path:
    """The cached home with both demo models published (trained on the first run, then reused)."""
    from scalpcheck.learn.demo import ensure_demo
    from scalpcheck.settings import load_settings

    home = CACHE / "home"
    ensure_demo(load_settings({"SCALPCHECK_HOME": str(home)}), progress=True)
    return home


def fp32_models() -> Path:
    """A models folder (bench/.cache/fp32-models) with the float bundles the published demo models come
    from: the network the baseline's eager PyTorch must reproduce exactly, and scalpcheck without INT8."""
    from scalpcheck.bundle import publish, read_card
    from scalpcheck.learn.demo import DEMO_TASKS

    home = models_home()
    out = CACHE / "fp32-models"
    for task in DEMO_TASKS:
        card = read_card(home / "models" / task)
        version = card.quantization.from_model_version if card.quantization else card.model_version
        if (out / task).is_dir() and read_card(out / task).model_version == version:
            continue
        runs = (home / "runs" / task).glob("train*/bundle")
        trained = next(b for b in runs if read_card(b).model_version == version)
        publish(trained, out, task)
    return out


def server_home(root: Path, models: Path | None = None) -> tuple[Path, str]:
    """A fresh home for one server (`models`, by default the demo models, linked in; a migrated database;
    the bench user) and an API token of that user."""
    from scalpcheck.web import create_app
    from scalpcheck.web.api.tokens import issue_token
    from scalpcheck.web.auth.passwords import hash_password
    from scalpcheck.web.database import upgrade
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import User

    models = models or models_home() / "models"
    home = root / "home"
    home.mkdir(parents=True)
    (home / "models").symlink_to(models.resolve(), target_is_directory=True)
    previous = os.environ.get("SCALPCHECK_HOME")
    os.environ["SCALPCHECK_HOME"] = str(home)
    try:
        app = create_app()
        upgrade(app)
        with app.app_context():
            user = User(username=USERNAME, password_hash=hash_password(PASSWORD))
            db.session.add(user)
            db.session.commit()
            token, _ = issue_token(user)
            db.engine.dispose()
    finally:
        if previous is None:
            os.environ.pop("SCALPCHECK_HOME")
        else:
            os.environ["SCALPCHECK_HOME"] = previous
    return home, token


@functools.cache
def ratelimit_storage() -> str:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # no Redis here: the benchmark still runs, and says which storage it used
        return "memory://"
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving `app` from `home` with `workers` sync workers on a free loopback port."""

    def __init__(self, app: str, home: Path, workers: int = 2, conf: bool = True, env: dict | None = None):
        self.port = free_port()
        self.home = home
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}"]
        if conf:  # scalpcheck's production settings; the baseline is served as gunicorn serves by default
            command += ["-c", "python:scalpcheck.gunicorn_conf"]
        self.command = [*command, "--log-level", "warning", app]
        self.env = {
            **os.environ,
            "SCALPCHECK_HOME": str(home),
            "RATELIMIT_STORAGE_URI": ratelimit_storage(),
            "PYTHONPATH": str(Path(__file__).parent.parent),
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> Server:
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        return self

    def wait_ready(self) -> float:
        """Seconds from start until /healthz answers 200 in a worker."""
        deadline = self.started_at + START_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}: {self.command}")
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT_S} s")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's graceful stop, workers included
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def multipart(fields: Iterable[tuple[str, str]], photos: Iterable[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body: text `fields` (repeatable names, in order) and each (filename, JPEG) of
    `photos` as an `image` field. Returns (body, content type)."""
    boundary = "scalpcheck-bench-" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    for filename, data in photos:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def assessment_load(
    server: Server,
    token: str,
    body_file: Path,
    content_type: str,
    concurrency: int,
    requests: int,
    path: str = "/api/v1/assessments",
) -> dict:
    """POST `path` from bench.loadgen in its own process; its result (see that module)."""
    job = {
        "port": server.port,
        "path": path,
        "headers": {"Authorization": f"Bearer {token}", "Content-Type": content_type},
        "body_file": str(body_file),
        "concurrency": concurrency,
        "requests": requests,
        "warmup": 2,
        "expect_status": 201,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return json.loads(done.stdout)
