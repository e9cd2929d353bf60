"""The database: users, their assessments and visits, and their API tokens (SQLAlchemy 2, typed).

The schema is built by the Alembic migrations in web/migrations, never by create_all; a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import UTC, datetime

from flask import session
from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, WriteOnlyMapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from scalpcheck.density import Reading
from scalpcheck.serve.explain import focus
from scalpcheck.serve.result import AssessmentResult
from scalpcheck.tasks import TASKS
from scalpcheck.web.extensions import Model, db, login_manager


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A UTC instant, stored without a zone and read back zone-aware.

    SQLite keeps no zone and PostgreSQL would convert to the session's; storing naive UTC and tagging it on
    the way out gives the same aware value from both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Advanced at every logout. A login session records the value it began with and is over once they
    # differ: Flask keeps sessions in the browser's signed cookie, so without this a copy of the cookie
    # taken before a logout (a shared computer, a stolen cookie) would stay logged in.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # The recovery address, set only once a link sent to it was opened (lower case, so one address is one).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # Two-factor sign-in (scalpcheck.web.twofactor): the TOTP secret once enrolled, and the last time step
    # whose code was taken, so that a code works once.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    # The database deletes a user's rows (ON DELETE CASCADE); the ORM never loads them to do so.
    assessments: WriteOnlyMapped[Assessment] = relationship(back_populates="user", passive_deletes=True)
    visits: WriteOnlyMapped[Visit] = relationship(back_populates="user", passive_deletes=True)
    api_tokens: WriteOnlyMapped[ApiToken] = relationship(back_populates="user", passive_deletes=True)
    links: WriteOnlyMapped[AccountLink] = relationship(back_populates="user", passive_deletes=True)
    audit_entries: WriteOnlyMapped[AuditEntry] = relationship(passive_deletes=True)
    recovery_codes: WriteOnlyMapped[RecoveryCode] = relationship(passive_deletes=True)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class UserTaskRecord:
    """What a visit and an assessment both are: a user's, of one task, at a time; the history's index."""

    __tablename__: str
    # sort_order keeps these first, where the migrations put them (a mixin's columns would come last).
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), sort_order=-1)
    task: Mapped[str] = mapped_column(String(64), sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, sort_order=-1)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple:
        return (Index(f"ix_{cls.__tablename__}_user_task_created", "user_id", "task", "created_at"),)


class Visit(UserTaskRecord, Model):
    """One to four photos of one task taken together; each photo is an assessment of the visit."""

    __tablename__ = "visits"

    user: Mapped[User] = relationship(back_populates="visits")
    # Loaded with the visit (a visit is always shown with its photos); deleted with it.
    photos: Mapped[list[Assessment]] = relationship(
        back_populates="visit",
        order_by="Assessment.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.task}: {len(self.photos)} photos>"


class Assessment(UserTaskRecord, Model):
    """One assessed photo: the result as shown on the day (advice included), and where its images are.

    A photo of a visit has the visit's id and the region it shows; a single-photo assessment has neither.
    """

    __tablename__ = "assessments"

    label: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    low_confidence: Mapped[bool]
    alternatives: Mapped[list[dict]] = mapped_column(JSON)
    advice: Mapped[dict] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(128))
    model_backbone: Mapped[str] = mapped_column(String(64))
    synthetic_data: Mapped[bool]
    image_key: Mapped[str] = mapped_column(String(32), unique=True)
    image_type: Mapped[str] = mapped_column(String(32))  # media type of the stored photo
    # Hair density with its interval, and the model's smallest detectable change; empty without them
    density: Mapped[float | None] = mapped_column(Float)
    density_low: Mapped[float | None] = mapped_column(Float)
    density_high: Mapped[float | None] = mapped_column(Float)
    density_sdc: Mapped[float | None] = mapped_column(Float)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    region: Mapped[str | None] = mapped_column(String(16))
    heat_focus: Mapped[str | None] = mapped_column(String(16))  # a key of serve.explain.FOCUS

    user: Mapped[User] = relationship(back_populates="assessments")
    visit: Mapped[Visit | None] = relationship(back_populates="photos")

    @property
    def reading(self) -> Reading | None:
        if self.density is None or self.density_low is None or self.density_high is None:
            return None
        return Reading(self.density, self.density_low, self.density_high)

    @classmethod
    def from_result(cls, user: User, result: AssessmentResult, image_key: str, image_type: str) -> Assessment:
        """A row for a result of the serving side whose images are stored under `image_key`."""
        reading = result.density
        return cls(
            user_id=user.id,
            task=result.task,
            label=result.label,
            display_name=result.display_name,
            confidence=float(result.confidence),
            probabilities={label: float(p) for label, p in result.probabilities.items()},
            low_confidence=bool(result.low_confidence),
            alternatives=[asdict(a) for a in result.alternatives],
            advice=result.to_dict()["advice"],
            model_version=result.model.version,
            model_backbone=result.model.backbone,
            synthetic_data=result.model.synthetic_data,
            image_key=image_key,
            image_type=image_type,
            density=reading.estimate if reading else None,
            density_low=reading.low if reading else None,
            density_high=reading.high if reading else None,
            density_sdc=result.density_sdc if reading else None,
            heat_focus=focus(result.heatmap),
        )

    def to_dict(self) -> dict:
        """The assessment's JSON (plus the alternatives shown with a low-confidence result)."""
        return {
            "id": self.id,
            "task": self.task,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "label": self.label,
            "display_name": self.display_name,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "low_confidence": self.low_confidence,
            "alternatives": self.alternatives,
            "advice": self.advice,
            "model": {
                "version": self.model_version,
                "backbone": self.model_backbone,
                "synthetic_data": self.synthetic_data,
            },
            **({"density": reading_dict(self.reading)} if self.measures_density else {}),
            "visit": self.visit_id,
            "region": self.region,
        }

    @property
    def measures_density(self) -> bool:
        """Hair-loss assessments carry a density (null from a model without the measurement)."""
        task = TASKS.get(self.task)
        return self.density is not None or (task is not None and task.measures_density)

    def __repr__(self) -> str:
        return f"<Assessment {self.id} {self.task}:{self.label}>"


def reading_dict(reading: Reading | None) -> dict[str, float] | None:
    return None if reading is None else asdict(reading)


def token_hash(token: str) -> str:
    """How an API token or a mailed link's token is stored: its SHA-256 (256 random bits need no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Model):
    """A bearer token of the JSON API; only its SHA-256 is stored, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(back_populates="api_tokens")

    def to_dict(self) -> dict:
        return {"expires_at": self.expires_at.isoformat(timespec="seconds")}


class AccountLink(Model):
    """A single-use link sent by e-mail: resetting the password, or proving a recovery address.

    Only the SHA-256 of its token is stored; using the link deletes the row.
    """

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # scalpcheck.web.recovery.RESET or VERIFY
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))  # the address a VERIFY link proves
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(back_populates="links")


class RecoveryCode(Model):
    """A one-time code that stands in for the authenticator app; stored as an HMAC under the secret key."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditEntry(Model):
    """Something done with a user's data or account (scalpcheck.web.audit); the app never changes one.

    `user_id` is empty only on the entry an account's deletion leaves, which holds counts and nothing else.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))  # a key of scalpcheck.web.audit.ACTIONS
    target: Mapped[str | None] = mapped_column(String(128))  # e.g. "assessment 12"
    channel: Mapped[str] = mapped_column(String(8))  # "web" or "api"
    address: Mapped[str] = mapped_column(String(64))  # the client's address

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "action": self.action,
            "target": self.target,
            "channel": self.channel,
            "address": self.address,
        }


# The session key that holds the session_epoch a login session began with.
SESSION_EPOCH = "session_epoch"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, unless the user has logged out since the session began."""
    user = db.session.get(User, int(user_id))
    if user is None or session.get(SESSION_EPOCH) != user.session_epoch:
        return None
    return user
