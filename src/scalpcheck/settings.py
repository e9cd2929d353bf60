"""Every setting scalpcheck reads from the environment, in one place (listed in docs/architecture.md)."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scalpcheck.errors import UsageError

# Below this a resized photo would lose detail the quality gate and the model look at.
MIN_LONG_SIDE = 512
IMAGE_KEY_BYTES = 32  # AES-256


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
class MailSettings:
    """The SMTP server that sends recovery links (Flask-Mail's MAIL_* names); absent: no recovery by mail."""

    server: str
    port: int = 25
    sender: str = "scalpcheck@localhost"  # MAIL_FROM
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # STARTTLS
    use_ssl: bool = False

    def flask_config(self) -> dict:
        return {
            "MAIL_SERVER": self.server,
            "MAIL_PORT": self.port,
            "MAIL_DEFAULT_SENDER": self.sender,
            "MAIL_USERNAME": self.username,
            "MAIL_PASSWORD": self.password,
            "MAIL_USE_TLS": self.use_tls,
            "MAIL_USE_SSL": self.use_ssl,
        }


@dataclass(frozen=True)
class ImageStoreLocation:
    """IMAGE_STORE_URL: a folder of this host (`file:///path`), or a bucket and key prefix (`s3://b/p`)
    that several hosts share; unset, the home folder's `uploads/`. boto3 finds the S3 endpoint and
    credentials in its own settings (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)."""

    url: str = ""
    folder: Path | None = None
    bucket: str = ""
    prefix: str = ""  # "" or ending in "/"


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
    mail: MailSettings | None = None
    # IMAGE_KEY's keys, current first (scalpcheck.web.crypto); empty: the home folder's image_keys file.
    image_keys_env: tuple[bytes, ...] = ()
    image_store: ImageStoreLocation = ImageStoreLocation()
    # An S3 store's pending operation older than this is taken for one whose process died, by any host:
    # longer than any request may run (gunicorn's worker timeout).
    image_store_settle_after_s: int = 600

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.image_store.folder or self.home / "uploads"

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

    @property
    def image_keys_file(self) -> Path:
        return self.home / "image_keys"

    def image_keys(self, create: bool = True) -> list[bytes]:
        """The image keys, current first: IMAGE_KEY's, else the home folder's, generated once when `create`.

        Without them no stored photo can be read: keep the file (or IMAGE_KEY) as safe as the database.
        """
        if self.image_keys_env:
            return list(self.image_keys_env)
        path = self.image_keys_file
        if not path.exists():
            if not create:
                return []
            _create_once(path, encode_image_key(secrets.token_bytes(IMAGE_KEY_BYTES)) + "\n")
        return parse_image_keys(path.read_text(), str(path))


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
        mail=_mail(env),
        image_keys_env=tuple(parse_image_keys(env.get("IMAGE_KEY") or "", "IMAGE_KEY")),
        image_store=_image_store(env.get("IMAGE_STORE_URL") or ""),
        image_store_settle_after_s=_positive_int(env, "IMAGE_STORE_SETTLE_AFTER_S") or 600,
    )


def _image_store(url: str) -> ImageStoreLocation:
    url = url.strip()
    if not url:
        return ImageStoreLocation()
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path.startswith("/") and parts.netloc in ("", "localhost"):
        return ImageStoreLocation(url, folder=Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc and not (parts.query or parts.fragment):
        prefix = parts.path.strip("/")
        return ImageStoreLocation(url, bucket=parts.netloc, prefix=prefix + "/" if prefix else "")
    raise UsageError(f"IMAGE_STORE_URL must be file:///absolute/folder or s3://bucket/prefix, got {url!r}")


def _mail(env: Mapping[str, str]) -> MailSettings | None:
    server = (env.get("MAIL_SERVER") or "").strip()
    if not server:
        return None
    use_ssl = _flag(env, "MAIL_USE_SSL")
    return MailSettings(
        server=server,
        port=_positive_int(env, "MAIL_PORT") or (465 if use_ssl else 25),
        sender=env.get("MAIL_FROM") or env.get("MAIL_DEFAULT_SENDER") or "scalpcheck@localhost",
        username=env.get("MAIL_USERNAME") or None,
        password=env.get("MAIL_PASSWORD") or None,
        use_tls=_flag(env, "MAIL_USE_TLS"),
        use_ssl=use_ssl,
    )


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (env.get(name) or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise UsageError(f"{name} must be true or false, got {text!r}")


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


def encode_image_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def parse_image_keys(text: str, source: str) -> list[bytes]:
    """Keys written as URL-safe base64 of 32 bytes, separated by commas or newlines, current first."""
    keys: list[bytes] = []
    for n, item in enumerate(text.replace(",", "\n").split(), start=1):
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != IMAGE_KEY_BYTES:  # the message never repeats the key: it is a secret
            raise UsageError(
                f"{source}: key {n} is not {IMAGE_KEY_BYTES} bytes in URL-safe base64 "
                "(`scalpcheck keys new` prints one)"
            )
        if key not in keys:
            keys.append(key)
    return keys


def _create_once(path: Path, text: str) -> None:
    """Write `text` to `path` (mode 0600) unless it exists, atomically: workers starting together agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # atomic and never overwrites
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
