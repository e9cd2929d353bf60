"""Making, finding and deleting assessments: the one code path behind the web pages and the JSON API.

Two stores change together, the image folder and the database: each change of images is staged by the
image store around the database commit that decides it (scalpcheck.web.storage), so no row points to
missing images and no image outlives its row, even when a worker dies mid-way. A refused upload writes
nothing at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Response, abort, send_file
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage, MultiDict

from scalpcheck import records
from scalpcheck.card import CardMetrics, ClassInfo
from scalpcheck.errors import ImageRejected
from scalpcheck.serve.explain import overlay
from scalpcheck.tasks import TASKS, Task, custom_task
from scalpcheck.web.extensions import db, get_assessor, get_store
from scalpcheck.web.metadata import clean_photo
from scalpcheck.web.models import Assessment, User

log = logging.getLogger(__name__)

IMAGE_FIELD = "image"
DAMAGED_PHOTO = "This photo's file is damaged. Please take or export the photo again and upload it."
IMAGE_MAX_AGE = 3600  # seconds a browser may reuse an image without asking again
MAX_ROW_ID = 2**31 - 1  # the largest id an Integer primary key holds on every backend (PostgreSQL's int4)


def pick_upload(files: MultiDict[str, FileStorage]) -> bytes:
    """The bytes of the photo in the form field `image`; raises ImageRejected("missing_image").

    The upload page has two inputs of that name (camera and library); a browser sends both, the unused one
    empty, so the first one that carries a file wins.
    """
    for upload in files.getlist(IMAGE_FIELD):
        data = upload.stream.read()
        if data or upload.filename:
            return data
    raise ImageRejected("missing_image", "No photo was sent. Choose or take a photo, then upload it.")


def create_assessment(user: User, task: str, data: bytes) -> Assessment:
    """Assess the photo and keep it with its result; raises ImageRejected or TaskUnavailable."""
    result = get_assessor().assess(data, task)
    try:
        photo, media_type = clean_photo(data, result.source.format, result.source.orientation)
    except ValueError as exc:
        raise ImageRejected("unsupported_image", DAMAGED_PHOTO) from exc
    store = get_store()
    with store.adding(
        photo, media_type, preview=result.image, overlay=overlay(result.image, result.heatmap)
    ) as key:
        row = Assessment.from_result(user, result, key, media_type)
        db.session.add(row)
        _commit()
    recover_images()  # cheap when, as nearly always, no dead worker left anything
    return row


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


def previous_assessment(row: Assessment) -> Assessment | None:
    """The same user's assessment of the same task just before this one (for "what changed")."""
    return db.session.scalar(
        select(Assessment)
        .where(
            Assessment.user_id == row.user_id,
            Assessment.task == row.task,
            (Assessment.created_at < row.created_at)
            | ((Assessment.created_at == row.created_at) & (Assessment.id < row.id)),
        )
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def previous_assessments(user: User, rows: list[Assessment]) -> dict[int, Assessment | None]:
    """{row id: the user's assessment of the same task just before it}, in two queries for a whole page."""
    if not rows:
        return {}
    earlier = (
        func.lag(Assessment.id)
        .over(partition_by=Assessment.task, order_by=(Assessment.created_at, Assessment.id))
        .label("earlier")
    )
    ordered = select(Assessment.id, earlier).where(Assessment.user_id == user.id).subquery()
    ids = [row.id for row in rows]
    pairs = dict(
        db.session.execute(select(ordered.c.id, ordered.c.earlier).where(ordered.c.id.in_(ids))).all()
    )
    found = {
        a.id: a
        for a in db.session.scalars(
            select(Assessment).where(Assessment.id.in_([p for p in pairs.values() if p]))
        )
    }
    return {i: found.get(pairs[i]) if pairs.get(i) else None for i in ids}


def send_stored_image(row: Assessment, kind: str) -> Response:
    """One of the assessment's images ("photo", "overlay" or "thumbnail") for its owner's browser only.

    Callers have checked ownership; `private` keeps shared caches from keeping a copy.
    """
    store = get_store()
    path, media_type = {
        "photo": (store.photo_path(row.image_key, row.image_type), row.image_type),
        "overlay": (store.overlay_path(row.image_key), "image/jpeg"),
        "thumbnail": (store.thumbnail_path(row.image_key), "image/jpeg"),
    }[kind]
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=media_type, max_age=IMAGE_MAX_AGE, conditional=True)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


def delete_assessment(row: Assessment) -> None:
    with get_store().removing([row.image_key]):
        db.session.delete(row)
        _commit()


def delete_account(user: User) -> int:
    """Delete the user, every assessment and token (ON DELETE CASCADE) and every stored image.

    Returns how many assessments went. An upload finishing meanwhile fails its commit on the missing user
    and removes its own images.
    """
    keys = db.session.scalars(select(Assessment.image_key).where(Assessment.user_id == user.id)).all()
    with get_store().removing(keys):
        db.session.delete(user)
        _commit()
    log.info("deleted an account with %d assessments", len(keys))
    return len(keys)


def recover_images() -> int:
    """Settle the image store operations of processes that died mid-way (see scalpcheck.web.storage).

    Safe to call any time. A database or disk that cannot answer now only postpones it: it never fails the
    request it runs in.
    """
    try:
        return get_store().recover(_existing_keys)
    except (SQLAlchemyError, OSError) as exc:
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
