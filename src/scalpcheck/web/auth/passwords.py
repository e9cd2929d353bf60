"""Password hashing with argon2id (argon2-cffi); the cost profile is the app's ARGON2_PROFILE setting."""

from __future__ import annotations

from typing import TypeGuard

from argon2.exceptions import InvalidHashError, VerificationError

from scalpcheck.web.extensions import app_state, db, get_password_hasher
from scalpcheck.web.models import User

# Verified against when the username is unknown, so that a wrong username costs as much time as a wrong
# password and the response time does not tell which usernames exist.
_DUMMY_PASSWORD = "not a real password"


def hash_password(password: str) -> str:
    return get_password_hasher().hash(password)


def check_password(user: User | None, password: str) -> TypeGuard[User]:
    """True when `password` is the user's; an unknown user (None) takes as long and is never accepted.

    A hash made with weaker parameters than today's profile is upgraded on the next correct login.
    """
    hasher = get_password_hasher()
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return True


def _dummy_hash() -> str:
    state = app_state()
    if state.dummy_password_hash is None:
        state.dummy_password_hash = state.password_hasher.hash(_DUMMY_PASSWORD)
    return state.dummy_password_hash
