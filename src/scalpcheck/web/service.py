"""Making, finding and deleting assessments and visits: the one code path behind the web pages and the API.

Two stores change together, the image folder and the database: each change of images is staged by the
image store around the database commit that decides it (scalpcheck.web.storage), so no row points to
missing images and no image outlives its row, even when a worker dies mid-way. A refused upload writes
nothing at all.
"""

from __future__ import annotations

import io
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

from flask import Response, abort, send_file
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage, MultiDict

from scalpcheck import records
from scalpcheck.card import CardMetrics, ClassInfo
from scalpcheck.errors import AssessmentError, ImageRejected
from scalpcheck.i18n import N_, Text, text
from scalpcheck.serve import Assessor
from scalpcheck.serve.explain import overlay
from scalpcheck.serve.result import AssessmentResult
from scalpcheck.tasks import TASKS, Task, custom_task
from scalpcheck.web import audit
from scalpcheck.web.crypto import SealError
from scalpcheck.web.entries import MAX_VISIT_PHOTOS, REGIONS, Entry, assessment_entry, visit_entry
from scalpcheck.web.extensions import app_state, db, get_assessor, get_store
from scalpcheck.web.metadata import clean_photo
from scalpcheck.web.models import Assessment, User, Visit
from scalpcheck.web.storage import OVERLAY_FILE, PHOTO_FILES, THUMBNAIL_FILE, StoreUnavailable
from scalpcheck.web.trend import Change, describe_change

log = logging.getLogger(__name__)

IMAGE_FIELD = "image"
DAMAGED_PHOTO = N_("This photo's file is damaged. Please take or export the photo again and upload it.")
MAX_ROW_ID = 2**31 - 1  # the largest id an Integer primary key holds on every backend (PostgreSQL's int4)
RECOVERY_INTERVAL_S = 60  # a request settles what dead processes left at most this often


def pick_upload(files: MultiDict[str, FileStorage]) -> bytes:
    """The bytes of the photo in the form field `image`; raises ImageRejected("missing_image").

    The upload page has two inputs of that name (camera and library); a browser sends both, the unused one
    empty, so the first one that carries a file wins.
    """
    for upload in files.getlist(IMAGE_FIELD):
        data = upload.stream.read()
        if data or upload.filename:
            return data
    raise ImageRejected("missing_image")


def create_assessment(user: User, task: str, data: bytes) -> Assessment:
    """Assess the photo and keep it with its result; raises ImageRejected or TaskUnavailable."""
    return _store_assessed(user, [_assess(task, data)])[0]


@dataclass(frozen=True)
class Upload:
    """One photo of a visit as sent: its bytes and the region it shows (None: not said)."""

    data: bytes
    region: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A photo of a visit that was refused, and why; the visit keeps the others."""

    index: int  # 1 for the first photo sent
    region: str | None
    code: str
    text: Text

    @property
    def message(self) -> str:
        return str(self.text)

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "region": self.region,
            "error": {"code": self.code, "message": self.message},
        }


def pick_uploads(files: MultiDict[str, FileStorage], regions: list[str]) -> list[Upload]:
    """The photos of a visit from the form's `image` fields, each with the `region` field of its place.

    A web form sends a region for every photo slot and an empty file for an unused slot: such a slot is
    skipped with its region. Raises ImageRejected("missing_image") without a photo, AssessmentError for more
    than four photos or a region that is not one of REGIONS.
    """
    uploads = []
    for i, upload in enumerate(files.getlist(IMAGE_FIELD)):
        data = upload.stream.read()
        region = (regions[i] if i < len(regions) else "").strip().lower() or None
        if region is not None and region not in REGIONS:
            raise AssessmentError(
                "bad_request",
                text(
                    "A region is one of %(regions)s; got %(got)s.",
                    regions=", ".join(REGIONS),
                    got=repr(region[:20]),
                ),
            )
        if data or upload.filename:
            uploads.append(Upload(data, region))
    if len(regions) > len(files.getlist(IMAGE_FIELD)):
        raise AssessmentError("bad_request", N_("Send at most one `region` field for each `image` field."))
    if not uploads:
        raise ImageRejected("missing_image", N_("No photo was sent. Choose or take one to four photos."))
    if len(uploads) > MAX_VISIT_PHOTOS:
        raise AssessmentError(
            "bad_request",
            text(
                "A visit holds one to %(most)s photos; %(sent)s were sent.",
                most=MAX_VISIT_PHOTOS,
                sent=len(uploads),
            ),
        )
    return uploads


def create_visit(user: User, task: str, uploads: list[Upload]) -> tuple[Visit, list[Refusal]]:
    """Assess each photo on its own terms and keep the usable ones as one visit, with the refusals.

    When no photo is usable nothing is stored and the first photo's refusal is raised, naming them all.
    A missing model (TaskUnavailable) is raised as it is.
    """
    assessor = get_assessor()

    def attempt(upload: Upload) -> _Assessed | ImageRejected:
        try:
            return _assess(task, upload.data, upload.region, assessor)
        except ImageRejected as exc:
            return exc

    # The photos are independent, and decoding and the model release the GIL: a visit of four photos on an
    # idle server uses the idle cores instead of taking four times as long.
    with ThreadPoolExecutor(min(len(uploads), os.cpu_count() or 1)) as pool:
        outcomes = list(pool.map(attempt, uploads))
    assessed = [o for o in outcomes if isinstance(o, _Assessed)]
    refusals = [
        Refusal(index, upload.region, o.code, o.text)
        for index, (upload, o) in enumerate(zip(uploads, outcomes, strict=True), start=1)
        if isinstance(o, ImageRejected)
    ]
    if not assessed:
        first = refusals[0]
        if len(refusals) == 1:
            raise ImageRejected(first.code, first.text)
        reasons = tuple(text("Photo %(index)s: %(reason)s", index=r.index, reason=r.text) for r in refusals)
        message = text(
            "None of the %(count)s photos could be assessed. %(reasons)s",
            count=len(refusals),
            reasons=reasons,
        )
        raise ImageRejected(first.code, message)
    visit = Visit(user_id=user.id, task=task)
    _store_assessed(user, assessed, visit)
    return visit, refusals


@dataclass(frozen=True)
class _Assessed:
    result: AssessmentResult
    photo: bytes
    media_type: str
    region: str | None


def _assess(task: str, data: bytes, region: str | None = None, assessor: Assessor | None = None) -> _Assessed:
    result = (assessor or get_assessor()).assess(data, task)
    try:
        photo, media_type = clean_photo(data, result.source.format, result.source.orientation)
    except ValueError as exc:
        raise ImageRejected("unsupported_image", DAMAGED_PHOTO) from exc
    return _Assessed(result, photo, media_type, region)


def _store_assessed(user: User, assessed: list[_Assessed], visit: Visit | None = None) -> list[Assessment]:
    """Keep the photos' images and rows (and the visit's row) in one commit: all of them or nothing."""
    store = get_store()
    rows = []
    with ExitStack() as staged:
        for item in assessed:
            result = item.result
            key = staged.enter_context(
                store.adding(
                    item.photo,
                    item.media_type,
                    preview=result.image,
                    overlay=overlay(result.image, result.heatmap),
                )
            )
            row = Assessment.from_result(user, result, key, item.media_type)
            row.region = item.region
            rows.append(row)
        if visit is not None:
            visit.photos = rows
            db.session.add(visit)
        else:
            db.session.add_all(rows)
        _commit()
    recover_images()  # cheap when, as nearly always, no dead worker left anything
    return rows


def owned_assessment(user: User, assessment_id: int) -> Assessment:
    """The user's assessment, or 404 for one that does not exist and for another user's alike.

    An id beyond the id column's range exists nowhere; it is answered before the database sees it (SQLite
    cannot even bind an integer over 64 bits).
    """
    if not 0 < assessment_id <= MAX_ROW_ID:
        abort(404)
    return db.first_or_404(
        select(Assessment).where(Assessment.id == assessment_id, Assessment.user_id == user.id)
    )


def owned_visit(user: User, visit_id: int) -> Visit:
    """The user's visit, or 404 for one that does not exist and for another user's alike."""
    if not 0 < visit_id <= MAX_ROW_ID:
        abort(404)
    return db.first_or_404(select(Visit).where(Visit.id == visit_id, Visit.user_id == user.id))


# A change is told between two single-photo assessments, or between two visits; a visit's own photos are
# compared as the visit.
def previous_assessment(row: Assessment) -> Assessment | None:
    """The same user's single-photo assessment of the same task just before this one (for "what changed")."""
    if row.visit_id is not None:
        return None
    return db.session.scalar(_earlier(Assessment, row).where(Assessment.visit_id.is_(None)))


def previous_visit(visit: Visit) -> Visit | None:
    return db.session.scalar(_earlier(Visit, visit))


def visit_reading(visit: Visit, previous: Visit | None) -> tuple[Entry, Change | None]:
    """The visit's combined result and what changed since `previous` (its previous visit, or None)."""
    task = task_named(visit.task)
    entry = visit_entry(task, visit)
    return entry, describe_change(task, visit_entry(task, previous), entry) if previous is not None else None


def _earlier(model, row):
    return (
        select(model)
        .where(
            model.user_id == row.user_id,
            model.task == row.task,
            (model.created_at < row.created_at)
            | ((model.created_at == row.created_at) & (model.id < row.id)),
        )
        .order_by(model.created_at.desc(), model.id.desc())
        .limit(1)
    )


def previous_assessments(user: User, rows: list[Assessment]) -> dict[int, Assessment | None]:
    """{row id: the user's single-photo assessment of the same task just before it}, for a whole page."""
    return _previous_by_lag(Assessment, user, rows, Assessment.visit_id.is_(None))


def previous_visits(user: User, visits: list[Visit]) -> dict[int, Visit | None]:
    return _previous_by_lag(Visit, user, visits)


def _previous_by_lag(model, user: User, rows: list, *where) -> dict:
    """{row id: the row of the same task just before it}, in two queries (a window function) for a page."""
    if not rows:
        return {}
    earlier = (
        func.lag(model.id)
        .over(partition_by=model.task, order_by=(model.created_at, model.id))
        .label("earlier")
    )
    ordered = select(model.id, earlier).where(model.user_id == user.id, *where).subquery()
    ids = [row.id for row in rows]
    pairs = dict(
        db.session.execute(select(ordered.c.id, ordered.c.earlier).where(ordered.c.id.in_(ids))).all()
    )
    found = {
        r.id: r
        for r in db.session.scalars(select(model).where(model.id.in_([p for p in pairs.values() if p])))
    }
    return {i: found.get(pairs[i]) if pairs.get(i) else None for i in ids}


def timeline(user: User, task: str, latest: int | None = None) -> list[tuple[Entry, Change | None]]:
    """The user's single-photo assessments and visits of `task`, oldest first (only the `latest` ones when
    given), each with what changed since the one of its kind before it."""
    info = task_named(task)
    singles = select(Assessment).where(
        Assessment.user_id == user.id, Assessment.task == task, Assessment.visit_id.is_(None)
    )
    visits = select(Visit).where(Visit.user_id == user.id, Visit.task == task)
    if latest is not None:  # the newest `latest` + 1 of each kind: the newest of both, and what came before
        singles = singles.order_by(Assessment.created_at.desc(), Assessment.id.desc()).limit(latest + 1)
        visits = visits.order_by(Visit.created_at.desc(), Visit.id.desc()).limit(latest + 1)
    kinds = (
        [assessment_entry(row) for row in db.session.scalars(singles)],
        [visit_entry(info, visit) for visit in db.session.scalars(visits)],
    )
    items: list[tuple[Entry, Change | None]] = []
    for entries in kinds:
        entries.sort(key=lambda e: (e.created_at, e.id))
        items += [
            (entry, describe_change(info, before, entry) if before is not None else None)
            for before, entry in zip([None, *entries], entries, strict=False)
        ]
    items.sort(key=lambda item: (item[0].created_at, item[0].kind, item[0].id))
    return items if latest is None else items[-latest:]


def entry_count(user: User, task: str) -> int:
    """How many single-photo assessments and visits of `task` the user has: what `timeline` lists uncut."""
    singles = select(func.count()).select_from(Assessment)
    visits = select(func.count()).select_from(Visit)
    return (
        db.session.scalar(
            singles.where(
                Assessment.user_id == user.id, Assessment.task == task, Assessment.visit_id.is_(None)
            )
        )
        or 0
    ) + (db.session.scalar(visits.where(Visit.user_id == user.id, Visit.task == task)) or 0)


def send_stored_image(row: Assessment, kind: str) -> Response:
    """One of the assessment's images ("photo", "overlay" or "thumbnail") for its owner's browser only.

    Callers have checked ownership. `no-store`: no cache, the browser's own included, keeps a copy that
    would load with the network off, or for the next person at a shared computer after logout. The file is
    opened in memory (its largest, a photo, is MAX_UPLOAD_MB); one that fails to open is never sent.
    """
    name, media_type = {
        "photo": (PHOTO_FILES[row.image_type], row.image_type),
        "overlay": (OVERLAY_FILE, "image/jpeg"),
        "thumbnail": (THUMBNAIL_FILE, "image/jpeg"),
    }[kind]
    try:
        image = get_store().fetch(row.image_key, name)
    except FileNotFoundError:
        abort(404)
    except SealError as exc:
        log.error("stored image refused: %s", exc)  # altered in the store, or under a key this host lacks
        abort(500)
    # The ETag names this version of the file (a rotation rewrites it), never its contents.
    response = send_file(
        io.BytesIO(image.data),
        mimetype=media_type,
        conditional=True,
        etag=image.version,
        last_modified=image.modified,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def delete_assessment(row: Assessment) -> None:
    """Delete the assessment and its images; the last photo of a visit takes the visit with it."""
    visit = row.visit
    if visit is not None and len(visit.photos) == 1:
        delete_visit(visit)
        return
    with get_store().removing([row.image_key]):
        db.session.delete(row)
        _commit()


def delete_visit(visit: Visit) -> None:
    with get_store().removing([photo.image_key for photo in visit.photos]):
        db.session.delete(visit)
        _commit()


def delete_account(user: User) -> int:
    """Delete the user, every assessment and token (ON DELETE CASCADE) and every stored image.

    Returns how many assessments went. An upload finishing meanwhile fails its commit on the missing user
    and removes its own images.
    """
    keys = db.session.scalars(select(Assessment.image_key).where(Assessment.user_id == user.id)).all()
    visits = db.session.scalar(select(func.count()).select_from(Visit).where(Visit.user_id == user.id)) or 0
    with get_store().removing(keys):
        db.session.delete(user)
        _commit()
    log.info("deleted an account with %d assessments", len(keys))
    audit.record_deletion(f"1 account, {len(keys)} assessments, {visits} visits")
    return len(keys)


def recover_images_when_due() -> None:
    """recover_images, at most once every RECOVERY_INTERVAL_S (or the settle time, if shorter) a process."""
    state = app_state()
    now = time.monotonic()
    if now >= state.next_recovery:
        state.next_recovery = now + min(RECOVERY_INTERVAL_S, state.settings.image_store_settle_after_s)
        recover_images()


def recover_images() -> int:
    """Settle the image store operations of processes that died mid-way (see scalpcheck.web.storage).

    Safe to call any time. A database or disk that cannot answer now only postpones it: it never fails the
    request it runs in.
    """
    try:
        return get_store().recover(_existing_keys)
    except (SQLAlchemyError, OSError, StoreUnavailable) as exc:
        db.session.rollback()
        log.warning("image store recovery postponed: %s", exc)
        return 0


def _existing_keys(keys: list[str]) -> set[str]:
    return set(db.session.scalars(select(Assessment.image_key).where(Assessment.image_key.in_(keys))))


def _commit() -> None:
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@dataclass(frozen=True)
class TaskModel:
    version: str
    backbone: str
    synthetic_data: bool
    created_at: str
    metrics: CardMetrics


@dataclass(frozen=True)
class TaskEntry:
    """A task a user can choose: built in (perhaps without a model now) or one with a published model."""

    task: Task
    model: TaskModel | None

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def title(self) -> str:
        return self.task.title

    @property
    def available(self) -> bool:
        return self.model is not None

    @property
    def classes(self) -> list[ClassInfo]:
        return [
            ClassInfo(label=label, display_name=self.task.display_name(label)) for label in self.task.labels
        ]

    def to_dict(self) -> dict:
        """The task as GET /api/v1/tasks lists it."""
        model = self.model
        return {
            "name": self.name,
            "title": self.title,
            "available": self.available,
            "classes": [records.to_dict(c) for c in self.classes],
            "model": None
            if model is None
            else {
                "version": model.version,
                "backbone": model.backbone,
                "synthetic_data": model.synthetic_data,
                "created_at": model.created_at,
                "metrics": records.to_dict(model.metrics, exclude_none=True),
            },
        }


def task_catalog() -> dict[str, TaskEntry]:
    """Every task a user can choose from: the loaded ones, and the built-in ones whose model is missing."""
    catalog = {name: TaskEntry(task, None) for name, task in TASKS.items()}
    for name, model in get_assessor().models.items():
        card = model.card
        info = TaskModel(
            card.model_version, card.backbone.name, card.synthetic_data, card.created_at, card.metrics
        )
        catalog[name] = TaskEntry(model.task, info)
    return catalog


def task_named(name: str) -> Task:
    """The task of that name as the catalogue knows it; a task no longer offered keeps its labels' names."""
    entry = task_catalog().get(name)
    return entry.task if entry is not None else custom_task(name, [])
