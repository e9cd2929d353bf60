"""The Flask extensions, created unbound here and bound to an app in create_app (the app factory pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from scalpcheck.serve import Assessor
    from scalpcheck.settings import Settings
    from scalpcheck.web.storage import ImageStore


class Base(DeclarativeBase):
    # Named constraints, so later migrations can alter them by name (SQLite's batch mode needs names).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
# The models' base class: Flask-SQLAlchemy's db.Model, which type checkers see as the declarative Base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
# Keyed by client address; the storage (memory:// or redis://) comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address)

APP_STATE = "scalpcheck"  # the key of AppState in app.extensions


@dataclass
class AppState:
    """The per-app objects create_app builds once per process (a warm Assessor above all)."""

    settings: Settings
    assessor: Assessor
    store: ImageStore
    password_hasher: PasswordHasher
    dummy_password_hash: str | None = None  # made on first use: unknown users' logins take as long
    next_recovery: float = 0.0  # time.monotonic() when a request next settles dead processes' changes


def app_state(app: Flask | None = None) -> AppState:
    return (app or current_app).extensions[APP_STATE]


def get_settings() -> Settings:
    return app_state().settings


def get_assessor() -> Assessor:
    return app_state().assessor


def get_store() -> ImageStore:
    return app_state().store


def get_password_hasher() -> PasswordHasher:
    return app_state().password_hasher
