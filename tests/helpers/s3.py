"""S3-compatible servers on loopback for the S3 image store: `rclone serve s3` over a temporary folder, and
moto's server as a second opinion. Each test gets a bucket of its own on the session's server."""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "scalpcheck-test", "scalpcheck-test-secret"
SERVERS = ("rclone", "moto")


@dataclass
class S3Server:
    kind: str
    endpoint: str
    process: subprocess.Popen
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        """boto3's standard settings, pointing at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"test-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_s3(kind: str) -> S3Server:
    folder = Path(tempfile.mkdtemp(prefix=f"scalpcheck-{kind}-"))
    log = folder / "server.log"
    if kind == "rclone":
        (folder / "data").mkdir()
        command = [
            str(Path(sys.executable).with_name("rclone")), "serve", "s3",
            "--config", "",  # no rclone.conf: the command line is the whole setup
            "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
            "--addr", "127.0.0.1:0",
            str(folder / "data"),
        ]  # fmt: skip
        port = 0
    else:
        port = _free_port()
        command = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited:\n{log.read_text()[-2000:]}")
        if kind == "rclone":
            found = re.search(r"Starting s3 server on \[http://127\.0\.0\.1:(\d+)/", log.read_text())
            port = int(found.group(1)) if found else 0
        if port and _answers(port):
            return S3Server(kind, f"http://127.0.0.1:{port}", process, folder)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} did not start:\n{log.read_text()[-2000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
