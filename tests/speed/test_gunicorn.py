"""scalpcheck.gunicorn_conf in a real gunicorn: workers assess without torch and stop cleanly when asked."""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalpcheck import bundle

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(home: Path) -> str:
    """A migrated database in `home` with one user, and that user's API token."""
    from scalpcheck.web import create_app
    from scalpcheck.web.api.tokens import issue_token
    from scalpcheck.web.database import upgrade
    from scalpcheck.web.extensions import db
    from scalpcheck.web.models import User

    app = create_app({"ARGON2_PROFILE": "CHEAPEST"})
    upgrade(app)
    with app.app_context():
        user = User(username="speed", password_hash="not used")
        db.session.add(user)
        db.session.commit()
        token, _ = issue_token(user)
        db.engine.dispose()
    return token


def _upload(port: int, token: str) -> int:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(60, 200, (400, 400, 3), dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    boundary = "speedtest"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="task"\r\n\r\nscalp\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + buffer.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    conn.request("POST", "/api/v1/assessments", body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_workers_serve_without_torch_and_stop_cleanly(home, random_bundles):
    for task, path in random_bundles.items():
        bundle.publish(path, home / "models", task)
    token = _token(home)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:scalpcheck.gunicorn_conf", "-w", "2"]
        + ["-b", f"127.0.0.1:{port}", "--graceful-timeout", "60"],
        env={**os.environ, "SCALPCHECK_HOME": str(home)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status = _upload(port, token)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        assert status == 201
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 2
        for pid in [server.pid, *map(int, children)]:
            assert "libtorch" not in Path(f"/proc/{pid}/maps").read_text()
        # Workers that cannot exit would hold the master until the 60 s graceful timeout ran out.
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
