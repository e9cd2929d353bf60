"""Every setting scalpcheck reads from the environment, in one place (listed in docs/architecture.md)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scalpcheck.errors import UsageError

# Below this a resized photo would lose detail the quality gate and the model look at.
MIN_LONG_SIDE = 512


@dataclass(frozen=True)
class UploadLimits:
    """What every upload page and the API's /tasks announce: the browser checks the size and scales first."""

    max_bytes: int
    long_side: int  # 0: photos go up as they are
    megabytes: float  # max_bytes as configured (MAX_UPLOAD_MB), for people

    @property
    def max_mb(self) -> str:
        return f"{self.megabytes:g}"

    def to_dict(self) -> dict[str, int]:
        return {"max_bytes": self.max_bytes, "long_side": self.long_side}


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    ratelimit_storage_uri: str
    max_upload_mb: float
    secret_key_env: str | None = None
    # ONNX Runtime intra-op threads per session; None: every core this process may use. Several serving
    # workers sharing the cores want fewer each (scalpcheck.gunicorn_conf divides the cores among them).
    ort_threads: int | None = None
    # The longest side, in pixels, that the upload pages scale a photo down to in the browser before it
    # goes up (0: send the original). The model looks at a few hundred pixels; a phone's photo is megabytes.
    upload_long_side: int = 1024

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(self.max_upload_bytes, self.upload_long_side, self.max_upload_mb)

    def secret_key(self) -> str:
        """SECRET_KEY from the environment, else one generated once and kept in the home folder.

        A fixed default would let anyone forge sessions; a fresh key per start would log everyone out.
        """
        if self.secret_key_env:
            return self.secret_key_env
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".secret_key.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)  # atomic and never overwrites: two workers starting together agree
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("SCALPCHECK_HOME") or "./var").resolve()
    return Settings(
        home=home,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{home / 'scalpcheck.db'}",
        ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or "memory://",
        max_upload_mb=float(env.get("MAX_UPLOAD_MB") or 25),
        secret_key_env=env.get("SECRET_KEY") or None,
        ort_threads=_positive_int(env, "SCALPCHECK_ORT_THREADS"),
        upload_long_side=_long_side(env, "UPLOAD_LONG_SIDE", default=1024),
    )


def available_cores() -> int:
    """The CPU cores this process may run on (ONNX Runtime's default thread count, gunicorn's workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _positive_int(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name)
    if not text:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"{name} must be a whole number of at least 1, got {text!r}")
    return int(text)


def _long_side(env: Mapping[str, str], name: str, default: int) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or 0 < int(text) < MIN_LONG_SIDE:
        raise UsageError(
            f"{name} must be 0 (no resizing) or a whole number of at least {MIN_LONG_SIDE}, got {text!r}"
        )
    return int(text)
