"""`scalpcheck restore DIR`: a backup (scalpcheck.web.backup) put back into an empty home and database.

Everything is checked before anything is written: the manifest and its own checksum, every file's size and
checksum, the database kind and schema revision, the keys the images need, and that the target holds no
tables and no images. Then the images are staged in a hidden folder of the home, the database is loaded and
checked against the manifest, the assessments deleted while the backup ran are deleted again, and the images
move into place. A failure on the way removes what was written: the target is left empty.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from scalpcheck.errors import UsageError
from scalpcheck.settings import Settings, encode_image_key, parse_image_keys
from scalpcheck.web.backup import (
    DATABASE_FILES,
    FORMAT,
    FORMAT_VERSION,
    IMAGES,
    KEY_FILE,
    MANIFEST,
    fsync_tree,
    manifest_checksum,
    problems,
    sha256_of,
    write_file,
)
from scalpcheck.web.crypto import KeyRing, key_id
from scalpcheck.web.database import MIGRATIONS_DIR
from scalpcheck.web.dumps import COUNTED, Database, Facts, connect, sqlite_facts
from scalpcheck.web.storage import (
    KEYS,
    OVERLAY_FILE,
    PENDING,
    PHOTO_FILES,
    PLAIN,
    THUMBNAIL_FILE,
    FolderStore,
    StoreUnavailable,
    open_dir,
    replace_in,
)


def restore(settings: Settings, folder: Path, say: Callable[[str], None] = print) -> dict:
    manifest = read_backup(folder)
    database = connect(settings.database_url)
    if manifest["database"] != database.kind:
        raise UsageError(
            f"{folder} is a backup of a {manifest['database']} database, but DATABASE_URL names a "
            f"{database.kind} one: restore it into a {manifest['database']} database"
        )
    head = schema_head()
    if manifest["schema_revision"] != head:
        raise UsageError(
            f"{folder} has schema revision {manifest['schema_revision']}, this scalpcheck's is {head}: "
            f"restore it with the scalpcheck version that made it ({manifest['scalpcheck_version']}), "
            "then upgrade"
        )
    folders = _image_folders(manifest)
    if database.kind == "sqlite":  # the copy can be read before anything is written
        _check_facts(
            folder, manifest, folders, sqlite_facts(folder / DATABASE_FILES["sqlite"], immutable=True)
        )
    database.check_empty(manifest.get("postgresql_schema"))
    if settings.image_store.bucket:
        _restore_into_bucket(settings, folder, manifest, database, folders)
        _said(settings, folder, manifest, say)
        return manifest
    uploads = settings.uploads_dir
    _check_uploads_empty(uploads)
    ring = _restore_keys(settings, folder, manifest)

    settings.home.mkdir(parents=True, exist_ok=True)
    staging = settings.home / f".restore-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    wrote_keys = loaded = False
    try:
        _stage_images(folder, manifest, staging / "uploads", ring)
        database.load(folder / DATABASE_FILES[database.kind])
        loaded = True
        _check_facts(folder, manifest, folders, database.facts())
        database.forget(manifest["left_out"])
        if ring.write:  # a key file there already keeps its keys, after the backup's
            wrote_keys = not settings.image_keys_file.exists()
            _save_keys(settings.image_keys_file, ring.keys)
        if uploads.exists():
            os.rename(uploads, staging / "old-uploads")
        os.rename(staging / "uploads", uploads)
    except BaseException:
        if loaded:
            database.clear()
        if wrote_keys:
            settings.image_keys_file.unlink(missing_ok=True)
        if (staging / "old-uploads").exists() and not uploads.exists():
            os.rename(staging / "old-uploads", uploads)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _said(settings, folder, manifest, say)
    return manifest


def _restore_into_bucket(
    settings: Settings, folder: Path, manifest: dict, database: Database, folders: dict[str, set[str]]
) -> None:
    """The images go straight to the bucket under a marker (S3Store.restoring), the rows inside it; the
    other hosts need the keys too (IMAGE_KEY, or this home's key file copied to theirs)."""
    from scalpcheck.web.s3_store import Bucket, S3Store

    if manifest["plain_images"]:
        raise UsageError(
            f"{folder} holds images from before encryption, which a bucket does not take: restore it into "
            "a folder store, run `scalpcheck keys rotate`, back it up again; nothing was restored"
        )
    ring = _restore_keys(settings, folder, manifest)
    store = S3Store(Bucket.from_settings(settings), KeyRing(lambda: list(ring.keys)))
    try:
        if store.has_images():
            raise UsageError(f"the image store {store.where} is not empty: restore into an empty bucket")
        files = [
            (key, name, folder / IMAGES / key[:2] / key / name)
            for key, names in sorted(folders.items())
            for name in sorted(names)
        ]
        for kid in manifest["keys"]["needed"]:
            store.ensure_check(kid)
        loaded = wrote_keys = False
        try:
            with store.restoring(files):
                database.load(folder / DATABASE_FILES[database.kind])
                loaded = True
                _check_facts(folder, manifest, folders, database.facts())
                database.forget(manifest["left_out"])
                if ring.write:  # a key file there already keeps its keys, after the backup's
                    wrote_keys = not settings.image_keys_file.exists()
                    settings.home.mkdir(parents=True, exist_ok=True)
                    _save_keys(settings.image_keys_file, ring.keys)
        except BaseException:
            if loaded:
                database.clear()
            if wrote_keys:
                settings.image_keys_file.unlink(missing_ok=True)
            raise
    except StoreUnavailable as exc:
        raise UsageError(f"the image store cannot be reached ({exc}); nothing was restored") from None


def _said(settings: Settings, folder: Path, manifest: dict, say: Callable[[str], None]) -> None:
    if manifest["keys"]["included"] and settings.image_keys_env:
        say("IMAGE_KEY is set, so the backup's key file was not written: IMAGE_KEY holds the keys needed")
    counts = manifest["counts"]
    say(
        f"restored {counts['users']} user(s), {counts['assessments'] - len(manifest['left_out'])} "
        f"assessment(s) and {counts['images']} image(s) from {folder} (made {manifest['created']})"
    )


def read_backup(folder: Path) -> dict:
    """The manifest of the backup in `folder`, after every file's size and checksum matched it."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise UsageError(f"{folder} has no {MANIFEST}: not a backup, or one that did not finish") from None
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{folder}/{MANIFEST} is damaged (not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{folder}/{MANIFEST} is not a scalpcheck backup's manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UsageError(
            f"{folder} is a backup of format {manifest.get('format_version')}; this scalpcheck reads format "
            f"{FORMAT_VERSION}"
        )
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise UsageError(f"{folder}/{MANIFEST} does not match its own checksum: it was edited or damaged")
    bad = []
    for name, entry in manifest["files"].items():
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute() or not path.is_file():
            bad.append(f"{name}: missing")
        elif path.stat().st_size != entry["size"] or sha256_of(path) != entry["sha256"]:
            bad.append(f"{name}: its checksum does not match")
    if DATABASE_FILES.get(manifest.get("database", "")) not in manifest["files"]:
        bad.append("the database file is not listed")
    if bad:
        raise UsageError(problems(f"{folder} is damaged", bad) + "; nothing was restored")
    return manifest


def schema_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def _image_folders(manifest: dict) -> dict[str, set[str]]:
    folders: dict[str, set[str]] = {}
    for name in manifest["files"]:
        parts = Path(name).parts
        if parts[0] != IMAGES:
            continue
        if len(parts) != 4 or parts[1] != parts[2][:2]:
            raise UsageError(f"the manifest lists {name}, which is not where an image belongs")
        folders.setdefault(parts[2], set()).add(parts[3])
    return folders


def _check_facts(folder: Path, manifest: dict, folders: dict[str, set[str]], facts: Facts) -> None:
    """The database holds what the manifest says, and every assessment has its three images."""
    if facts.revision != manifest["schema_revision"]:
        raise UsageError(
            f"{folder}: the database is at revision {facts.revision}, the manifest says otherwise"
        )
    wrong = [name for name in COUNTED if facts.counts[name] != manifest["counts"].get(name)]
    if wrong:
        raise UsageError(f"{folder}: the database's count of {', '.join(wrong)} does not match the manifest")
    left_out = set(manifest["left_out"])
    expected = {
        key: {PHOTO_FILES.get(media_type, "?"), OVERLAY_FILE, THUMBNAIL_FILE}
        for key, media_type in facts.images.items()
        if key not in left_out
    }
    if expected != folders or not left_out <= set(facts.images):
        raise UsageError(f"{folder}: the images do not match the database's assessments")


def _check_uploads_empty(uploads: Path) -> None:
    if not uploads.is_dir():
        return
    in_the_way = [
        entry.name
        for entry in uploads.iterdir()
        if entry.name != KEYS and not (entry.name == PENDING and not any(entry.iterdir()))
    ]
    if in_the_way:
        raise UsageError(
            f"the image store {uploads} is not empty ({len(in_the_way)} entries, e.g. {in_the_way[0]}): "
            "restore into an empty home"
        )


@dataclass
class _Keys:
    keys: list[bytes]
    write: bool  # the home's key file gets `keys`


def _restore_keys(settings: Settings, folder: Path, manifest: dict) -> _Keys:
    """The keys the restored images open with; refuses when one they need is not to be had."""
    needed = set(manifest["keys"]["needed"])
    included = manifest["keys"]["included"]
    if settings.image_keys_env:
        keys, write, source = list(settings.image_keys_env), False, "IMAGE_KEY"
    else:
        carried = parse_image_keys((folder / KEY_FILE).read_text(), KEY_FILE) if included else []
        existing = settings.image_keys(create=False)
        keys = list(dict.fromkeys([*carried, *existing]))
        write, source = bool(carried), f"the backup or {settings.image_keys_file}"
    lacking = sorted(needed - {key_id(key) for key in keys})
    if lacking:
        hint = (
            "" if included else " (the backup holds no key: set IMAGE_KEY, or put the key file in the home)"
        )
        raise UsageError(
            f"the backup's images are sealed under key(s) {', '.join(lacking)}, which {source} does not have"
            f"{hint}; nothing was restored"
        )
    return _Keys(keys, write)


def _stage_images(folder: Path, manifest: dict, uploads: Path, ring: _Keys) -> None:
    uploads.mkdir(mode=0o700)
    for name in manifest["files"]:
        if name.startswith(IMAGES + "/"):
            target = uploads / Path(name).relative_to(IMAGES)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file(target, (folder / name).read_bytes())
    (uploads / KEYS).mkdir()
    if ring.keys:  # each key the images use gets its check file, as the live store has
        keys = list(ring.keys)
        store = FolderStore(uploads, KeyRing(lambda: keys))
        for kid in manifest["keys"]["needed"]:
            store.ensure_check(kid)
    if manifest["plain_images"]:
        with open_dir(uploads / KEYS) as fd:
            replace_in(fd, PLAIN, b"")
    fsync_tree(uploads)


def _save_keys(path: Path, keys: list[bytes]) -> None:
    existing = []
    with suppress(FileNotFoundError):
        existing = parse_image_keys(path.read_text(), str(path))
    text = "".join(encode_image_key(key) + "\n" for key in dict.fromkeys([*keys, *existing]))
    with open_dir(path.parent) as fd:
        replace_in(fd, path.name, text.encode())
        os.fsync(fd)
