"""`scalpcheck backup DIR`: a consistent copy of the database and the image store, taken while the app serves.

A backup folder holds `database.sqlite` (SQLite's online backup) or `database.pgdump` (`pg_dump`'s custom
format, of the app's schema only), `images/<k[:2]>/<k>/...` (the stored files as they are, still encrypted),
`image_keys` when the keys come from the home folder's key file, and `manifest.json`, written last: the
format, versions, schema revision, counts, and the SHA-256 and size of every file. A backup that did not
finish has no manifest, and restore refuses it.

Consistency: the database is copied first, from one snapshot, and then exactly the images of the
assessments in that snapshot (from a folder, each under its folder's lock, which a deletion takes before it
moves a folder; from a bucket, where a deletion can come between two files, the database says whether a
half-copied assessment was deleted), so later uploads are left out and every row gets its files. Each
image is opened under its key as it is copied: a damaged store fails the backup instead of giving one that
restores broken images. An assessment
deleted after the snapshot, before its images were copied, is listed in the manifest (`left_out`), and
restore deletes it again: a restore never brings back what a user deleted while the backup ran.

scalpcheck.web.restore puts a backup back; scalpcheck.web.dumps copies and loads the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scalpcheck import __version__
from scalpcheck.errors import UsageError
from scalpcheck.settings import Settings, encode_image_key
from scalpcheck.web.crypto import SealError, key_id, sealed_key_id
from scalpcheck.web.dumps import Database, Facts, connect
from scalpcheck.web.storage import (
    OVERLAY_FILE,
    PHOTO_FILES,
    THUMBNAIL_FILE,
    ImageStore,
    open_dir,
    open_store,
    replace_in,
)

FORMAT = "scalpcheck-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
IMAGES = "images"
KEY_FILE = "image_keys"
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
SHOWN = 3  # problems named in a message; the rest are counted
NOTHING_BACKED_UP = "; nothing was backed up"


@dataclass
class Backup:
    folder: Path
    manifest: dict
    keys_included: bool


@dataclass
class _Copied:
    files: dict[str, dict] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # image keys with no folder anywhere
    damaged: list[str] = field(default_factory=list)  # files failing to open
    partial: dict[str, list[str]] = field(default_factory=dict)  # image keys with files missing
    key_ids: set[str] = field(default_factory=set)
    plain: bool = False  # some image is from before encryption


def backup(
    settings: Settings, out: Path, with_keys: bool = True, say: Callable[[str], None] = print
) -> Backup:
    database = connect(settings.database_url)
    created = _start_folder(out)
    try:
        copied, facts, keys_before = _snapshot_and_copy(settings, database, out)
        keys = {**_key_map(settings), **keys_before}  # a rotation meanwhile: the files use one or the other
        lacking = sorted(copied.key_ids - set(keys))
        if lacking:
            raise UsageError(f"a key rotation ran during the backup (key {', '.join(lacking)}): run it again")
        included = with_keys and not settings.image_keys_env
        if included:
            text = "".join(encode_image_key(keys[kid]) + "\n" for kid in keys)
            copied.files[KEY_FILE] = write_file(out / KEY_FILE, text.encode())
        manifest = _manifest(database.kind, facts, copied, included)
        fsync_tree(out)
        _write_manifest(out, manifest)
    except BaseException:
        _discard(out, created)
        raise
    if included:
        say(
            f"warning: {out} holds the image key, which decrypts every photo in it: keep the backup as safe "
            "as the home folder (or back up with --without-keys and keep the key apart)"
        )
    elif copied.key_ids:
        source = "IMAGE_KEY" if settings.image_keys_env else f"the key file {settings.image_keys_file}"
        needed = ", ".join(sorted(copied.key_ids))
        say(f"the backup holds no image key: restoring it needs key(s) {needed} from {source}")
    counts, left_out = manifest["counts"], len(manifest["left_out"])
    later = f" ({left_out} deleted during the backup are left out)" if left_out else ""
    say(
        f"backed up {counts['users']} user(s), {counts['assessments'] - left_out} assessment(s){later} and "
        f"{counts['images']} image(s) of the {database.kind} database to {out}"
    )
    return Backup(out, manifest, included)


def _snapshot_and_copy(
    settings: Settings, database: Database, out: Path
) -> tuple[_Copied, Facts, dict[str, bytes]]:
    """The database's snapshot, then its images; also the image keys as they were before the copy."""
    target = out / DATABASE_FILES[database.kind]
    facts = database.snapshot(target)  # first: a home without a database gets no store made here
    store = open_store(settings)  # refuses a missing or wrong key before any image is copied
    keys_before = _key_map(settings)
    copied = _copy_images(store, facts.images, out)
    # A bucket has no lock a deletion takes: one that ran meanwhile can leave a key's files half copied.
    gone = set(copied.partial) - database.live_keys(list(copied.partial)) if copied.partial else set()
    for key in sorted(gone):
        _drop_copied(copied, out, key)
    copied.damaged += [
        problem for key, found in copied.partial.items() if key not in gone for problem in found
    ]
    lost = database.live_keys(copied.missing) if copied.missing else set()
    # Rows still there whose images are nowhere: lost from the store. The others were deleted after the
    # snapshot; the manifest lists them and restore deletes them again.
    copied.damaged += [f"{key}/: no images, but its assessment is in the database" for key in sorted(lost)]
    if copied.damaged:
        raise UsageError(problems("the image store is damaged", copied.damaged) + NOTHING_BACKED_UP)
    copied.files[target.name] = _entry(target)
    return copied, facts, keys_before


def _copy_images(store: ImageStore, images: dict[str, str], out: Path) -> _Copied:
    copied = _Copied()
    for key, media_type in sorted(images.items()):
        names = [PHOTO_FILES.get(media_type, f"photo of type {media_type}"), OVERLAY_FILE, THUMBNAIL_FILE]
        found = store.stored_files(key, names)
        if found is None:
            copied.missing.append(key)
            continue
        for name in names:
            place = f"{key}/{name}"
            data = found.get(name)
            if data is None:
                copied.partial.setdefault(key, []).append(f"{place}: missing")
                continue
            try:
                store.opened(data, place)
            except SealError as exc:
                copied.damaged.append(str(exc))
                continue
            kid = sealed_key_id(data)
            copied.plain |= kid is None
            copied.key_ids |= {kid} if kid else set()
            relative = f"{IMAGES}/{key[:2]}/{key}/{name}"
            copied.files[relative] = write_file(out / relative, data)
    return copied


def _drop_copied(copied: _Copied, out: Path, key: str) -> None:
    """Take back a key whose assessment was deleted while its files were copied: it is left out."""
    for name in [name for name in copied.files if name.startswith(f"{IMAGES}/{key[:2]}/{key}/")]:
        (out / name).unlink()
        del copied.files[name]
    copied.missing.append(key)


def _manifest(kind: str, facts: Facts, copied: _Copied, keys_included: bool) -> dict:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scalpcheck_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": kind,
        "schema_revision": facts.revision,
        "postgresql_schema": facts.schema,
        "counts": {
            **facts.counts,
            "images": sum(1 for name in copied.files if name.startswith(IMAGES + "/")),
        },
        "left_out": sorted(copied.missing),  # assessments deleted during the backup
        "keys": {"included": keys_included, "needed": sorted(copied.key_ids)},
        "plain_images": copied.plain,
        "files": dict(sorted(copied.files.items())),
    }
    manifest["checksum"] = manifest_checksum(manifest)
    return manifest


def manifest_checksum(manifest: dict) -> str:
    body = {name: value for name, value in manifest.items() if name != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _start_folder(out: Path) -> bool:
    """Make `out` (mode 0700) or take it empty; True when it was made here."""
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{out} is a file, not a folder")
        if any(out.iterdir()):
            raise UsageError(f"{out} is not empty: back up into a new or empty folder")
        return False
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} does not exist")
    out.mkdir(mode=0o700)
    return True


def _discard(out: Path, created: bool) -> None:
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in out.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _write_manifest(out: Path, manifest: dict) -> None:
    with open_dir(out) as fd:
        replace_in(fd, MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
        os.fsync(fd)


def write_file(path: Path, data: bytes) -> dict:
    """Create `path` (mode 0600) with `data`, fsynced; its manifest entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _entry(path: Path) -> dict:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    return {"sha256": sha256_of(path), "size": path.stat().st_size}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_tree(root: Path) -> None:
    """Make every folder's entries under `root` durable (the files were fsynced as they were written)."""
    for folder, _dirs, _files in os.walk(root):
        with open_dir(Path(folder)) as fd:
            os.fsync(fd)


def _key_map(settings: Settings) -> dict[str, bytes]:
    return {key_id(key): key for key in settings.image_keys(create=False)}


def problems(what: str, problems: list[str]) -> str:
    more = f" and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return f"{what}: {'; '.join(problems[:SHOWN])}{more}"
