"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) from an authenticator app, and one-time recovery codes.

A code is taken once: the user's last accepted time step is stored and only a later one counts, and the
update is conditional, so two requests racing with one code cannot both pass. Recovery codes are kept as
HMAC-SHA256 under the app's secret key: a copy of the database alone cannot test guesses against them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, select, update

from scalpcheck.web.extensions import db
from scalpcheck.web.models import RecoveryCode, User

ISSUER = "scalpcheck"
RECOVERY_CODES = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
# The step before and after the current one are accepted too: a phone's clock is rarely exact.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def qr_code(user: User, secret: str) -> str:
    """The enrolment QR code as a data: URI (the content security policy allows data: images)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#1c2430")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is, within the allowed drift; None when it is none of them."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int((time.time() if now is None else now) // totp.interval)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def check_code(user: User, code: str) -> bool:
    """Whether `code` is the user's current TOTP code, not taken before; taking it (committed)."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    taken = db.session.execute(
        update(User).where(User.id == user.id, User.totp_last_step < step).values(totp_last_step=step)
    )
    db.session.commit()
    return taken.rowcount == 1  # type: ignore[attr-defined]


def use_recovery_code(user: User, code: str) -> bool:
    """Whether `code` is one of the user's unused recovery codes; using it up (committed)."""
    gone = db.session.execute(
        delete(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code))
    )
    db.session.commit()
    return gone.rowcount == 1  # type: ignore[attr-defined]


def check_second_factor(user: User, code: str) -> bool:
    """A TOTP code, or else a recovery code (the form takes either)."""
    return check_code(user, code) or use_recovery_code(user, code)


def enable(user: User, secret: str, step: int) -> list[str]:
    """Turn two-factor sign-in on with `secret`, whose code of `step` the user just gave; the new recovery
    codes, to show once."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    db.session.execute(update(User).where(User.id == user.id).values(totp_secret=secret, totp_last_step=step))
    db.session.commit()
    return codes


def disable(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(update(User).where(User.id == user.id).values(totp_secret=None, totp_last_step=0))
    db.session.commit()


def remaining_codes(user: User) -> int:
    count = select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
    return db.session.scalar(count) or 0


def _new_recovery_code() -> str:
    """Ten letters and digits (50 bits), written as two groups of five."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))


def _hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()
