"""The data export ("download my data"): a zip of everything an account holds, made while it is sent.

Inside `scalpcheck-export/`:

    README.txt                       what is inside, the disclaimer (and the phantom note)
    account.json                     username, when it was made, recovery address, two-factor on or off
    assessments/<id>/result.json     each assessment as the API gives it (GET /api/v1/assessments/<id>)
    assessments/<id>/photo.jpg|png   its photo as stored, decrypted
    assessments/<id>/overlay.jpg     its Grad-CAM overlay, decrypted
    visits/<id>.json                 each visit as the API gives it
    reports/<task>.pdf               the doctor's report of each task the account has assessments of
    audit-log.json                   the account's audit entries, oldest first
    unreadable.txt                   only when an image could not be read: which ones are missing

zipfile writes into a buffer that cannot seek (so each entry's sizes follow its data), and the response
takes what was written after every entry: a worker holds one photo at a time, whatever the account holds.
Rows are read BATCH at a time, each batch in a transaction of its own that ends before its entries are
sent, so a slow download keeps no transaction open. What the account held when the download began is in
it, less anything deleted meanwhile.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Response, stream_with_context
from flask_babel import gettext
from sqlalchemy import func, select

from scalpcheck.serve.advice import load_texts
from scalpcheck.web.api.routes import assessment_json
from scalpcheck.web.api.visits import visit_json
from scalpcheck.web.crypto import SealError
from scalpcheck.web.extensions import db, get_store
from scalpcheck.web.language import moment_text
from scalpcheck.web.models import Assessment, AuditEntry, User, Visit
from scalpcheck.web.report import report_for
from scalpcheck.web.service import previous_assessments, previous_visits
from scalpcheck.web.storage import OVERLAY_FILE, PHOTO_FILES

log = logging.getLogger(__name__)

EXPORT_TYPE = "application/zip"
ROOT = "scalpcheck-export"
BATCH = 50  # rows a query reads; a batch's JSON is small, its photos are read one at a time
AUDIT_BATCH = 500
STORED = (".jpg", ".png", ".pdf")  # already compressed: deflating them again costs time and saves nothing
# Set by the gunicorn config to tell the arbiter that a worker still streaming is alive (its timeout
# would otherwise end a long download).
keep_alive: Callable[[], None] = lambda: None  # noqa: E731


@dataclass(frozen=True)
class Member:
    """One file of the zip: its bytes, a stored image to read when it is written, or chunks."""

    name: str
    when: datetime
    content: bytes | StoredFile | Iterable[bytes]


@dataclass(frozen=True)
class StoredFile:
    """An image of the store, read when its member is written."""

    key: str
    name: str


@dataclass(frozen=True)
class Holdings:
    """What an export holds, for the page that offers it."""

    assessments: int
    visits: int
    reports: int
    audit_entries: int


def holdings(user_id: int) -> Holdings:
    def count(what, where) -> int:
        return db.session.scalar(select(func.count()).select_from(what).where(where)) or 0

    tasks = select(Assessment.task).where(Assessment.user_id == user_id).distinct().subquery()
    return Holdings(
        assessments=count(Assessment, Assessment.user_id == user_id),
        visits=count(Visit, Visit.user_id == user_id),
        reports=db.session.scalar(select(func.count()).select_from(tasks)) or 0,
        audit_entries=count(AuditEntry, AuditEntry.user_id == user_id),
    )


def export_response(user: User) -> Response:
    """The export as a download, for the account page's link and the API alike."""
    now = datetime.now(UTC)
    # The body runs after the view's app context has ended (its session closed): it loads the user anew.
    response = Response(stream_with_context(archive(user.id, now)), mimetype=EXPORT_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="scalpcheck-export-{now:%Y-%m-%d}.zip"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def archive(user_id: int, now: datetime) -> Iterator[bytes]:
    """The zip of the user's data, in the chunks zipfile writes."""
    out = _Sink()
    unreadable: list[str] = []
    with zipfile.ZipFile(out, "w") as zf:
        for member in members(user_id, now):
            content = member.content
            info = _info(member.name, member.when)
            if isinstance(content, StoredFile):
                image = _read_image(content, member.name, unreadable)
                if image is not None:
                    zf.writestr(info, image)
            elif isinstance(content, bytes):
                zf.writestr(info, content)
            else:
                with zf.open(info, "w") as dest:
                    for chunk in content:
                        dest.write(chunk)
                        yield from out.take()
            yield from out.take()
            keep_alive()
        if unreadable:
            note = gettext("These images could not be read and are not in this export:")
            zf.writestr(_info("unreadable.txt", now), "\n".join([note, *unreadable, ""]).encode())
    yield from out.take()


def members(user_id: int, now: datetime) -> Iterator[Member]:
    """Every file of the export, in the order of the zip."""
    user = db.session.get_one(User, user_id)
    synthetic = db.session.scalar(
        select(Assessment.id).where(Assessment.user_id == user_id, Assessment.synthetic_data).limit(1)
    )
    tasks = db.session.scalars(
        select(Assessment.task).where(Assessment.user_id == user_id).distinct().order_by(Assessment.task)
    ).all()
    readme, account = _readme(user, now, synthetic is not None).encode(), _json(_account(user))
    _end_transaction()
    yield Member("README.txt", now, readme)
    yield Member("account.json", now, account)

    def assessment_members(rows: list[Assessment]) -> list[Member]:
        earlier = previous_assessments(user, rows)
        found = []
        for row in rows:
            folder, when = f"assessments/{row.id}", row.created_at
            photo = PHOTO_FILES[row.image_type]
            found += [
                Member(f"{folder}/result.json", when, _json(assessment_json(row, earlier[row.id]))),
                Member(f"{folder}/{photo}", when, StoredFile(row.image_key, photo)),
                Member(f"{folder}/{OVERLAY_FILE}", when, StoredFile(row.image_key, OVERLAY_FILE)),
            ]
        return found

    def visit_members(visits: list[Visit]) -> list[Member]:
        earlier = previous_visits(user, visits)
        return [
            Member(f"visits/{v.id}.json", v.created_at, _json(visit_json(v, earlier[v.id]))) for v in visits
        ]

    yield from _batched(Assessment, user_id, assessment_members)
    yield from _batched(Visit, user_id, visit_members)
    for task in tasks:
        pdf = report_for(user, task)
        _end_transaction()
        yield Member(f"reports/{task}.pdf", now, pdf)
    yield Member("audit-log.json", now, _audit_log(user_id))


def _batched(model, user_id: int, to_members: Callable[[list], list[Member]]) -> Iterator[Member]:
    """The members of the user's rows of `model`, oldest first, read BATCH rows at a time."""
    ids = db.session.scalars(select(model.id).where(model.user_id == user_id).order_by(model.id)).all()
    _end_transaction()
    for start in range(0, len(ids), BATCH):
        rows = db.session.scalars(
            select(model)
            .where(model.user_id == user_id, model.id.in_(ids[start : start + BATCH]))
            .order_by(model.id)
        ).all()
        batch = to_members(list(rows))
        _end_transaction()
        yield from batch


def _audit_log(user_id: int) -> Iterator[bytes]:
    """The user's audit entries as one JSON array, oldest first, AUDIT_BATCH entries a query."""
    yield b"["
    after, first = 0, True
    while True:
        rows = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.user_id == user_id, AuditEntry.id > after)
            .order_by(AuditEntry.id)
            .limit(AUDIT_BATCH)
        ).all()
        entries = [row.to_dict() for row in rows]
        _end_transaction()
        if not entries:
            break
        for entry in entries:
            yield (b"\n  " if first else b",\n  ") + json.dumps(entry, ensure_ascii=False).encode()
            first = False
        after = entries[-1]["id"]
    yield b"\n]\n"


def _account(user: User) -> dict:
    """What the account row holds of the user; never the password hash or the TOTP secret."""
    return {
        "username": user.username,
        "created_at": user.created_at.isoformat(timespec="seconds"),
        "email": user.email,
        "two_factor": user.totp_secret is not None,
    }


def _readme(user: User, now: datetime, synthetic: bool) -> str:
    texts = load_texts()
    lines = [
        gettext("scalpcheck: a copy of all your data"),
        gettext("For %(user)s, made %(when)s.", user=user.username, when=moment_text(now)),
        "",
        gettext("Not a diagnosis. %(disclaimer)s", disclaimer=gettext(texts["disclaimer"])),
    ]
    if synthetic:
        lines.append(gettext("Trained on phantoms: %(note)s", note=gettext(texts["synthetic_note"])))
    lines += [
        "",
        gettext("What is inside:"),
        gettext(
            "account.json: your account (username, when it was made, recovery address, whether two-factor "
            "sign-in is on)."
        ),
        gettext(
            "assessments/<number>/: each assessment: result.json (its result, as the API gives it), the "
            "photo you uploaded (without its metadata) and overlay.jpg (the heat map of what the model "
            "looked at)."
        ),
        gettext("visits/<number>.json: each visit, with its photos' assessments and the combined result."),
        gettext("reports/<task>.pdf: the report for a doctor of each kind of assessment you have."),
        gettext("audit-log.json: every entry of your audit log, oldest first."),
        "",
        gettext("The photos in this file are not encrypted: keep it somewhere safe."),
        "",
    ]
    return "\n".join(lines)


def _read_image(stored: StoredFile, name: str, unreadable: list[str]) -> bytes | None:
    """The decrypted image, or None (noted in `unreadable`) when it is gone or cannot be trusted."""
    try:
        return get_store().fetch(stored.key, stored.name).data
    except FileNotFoundError:  # its assessment was deleted meanwhile, or the store lost it
        unreadable.append(name)
    except SealError as exc:
        log.error("export: stored image refused: %s", exc)
        unreadable.append(name)
    return None


def _info(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{ROOT}/{name}", when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED) else zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16  # health data: readable by its owner only once unpacked
    return info


def _json(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=2).encode()


def _end_transaction() -> None:
    """End the read transaction before the entries are sent (a rollback: nothing here writes)."""
    db.session.rollback()


class _Sink:
    """Where zipfile writes. It has no tell() or seek(), so zipfile writes a stream, not a seekable file."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(data if isinstance(data, bytes) else bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> list[bytes]:
        chunks, self._chunks = self._chunks, []
        return chunks
