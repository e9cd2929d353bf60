"""The Flask extensions, created unbound here and bound to an app in create_app (the app factory pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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
# Keyed by client address; the storage (memory:// or redis://) comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address)

# The per-app objects create_app builds once per process (a warm Assessor above all), under one key.
APP_STATE = "scalpcheck"


def get_settings() -> Settings:
    return current_app.extensions[APP_STATE]["settings"]


def get_assessor() -> Assessor:
    return current_app.extensions[APP_STATE]["assessor"]


def get_store() -> ImageStore:
    return current_app.extensions[APP_STATE]["store"]


def get_password_hasher() -> PasswordHasher:
    return current_app.extensions[APP_STATE]["password_hasher"]
