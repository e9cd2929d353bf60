"""Account recovery: single-use links sent by e-mail, and setting a new password.

A link's token is 256 random bits; the database keeps only its SHA-256 (as for API tokens), so a copy of
the database opens no account. A link works once and only until it expires. Asking for a reset gives the
same answer and sends in the background whether or not the address belongs to anyone, so the page tells
nobody which addresses have accounts.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime

from flask import Flask, current_app, url_for
from flask_babel import gettext
from flask_mail import Message
from sqlalchemy import delete, select, update

from scalpcheck.web import audit
from scalpcheck.web.auth.passwords import hash_password
from scalpcheck.web.extensions import db, mail
from scalpcheck.web.models import AccountLink, ApiToken, User, token_hash

log = logging.getLogger(__name__)

RESET, VERIFY = "reset", "verify"
MAX_OPEN_LINKS = 3  # per user and purpose: asking again replaces the oldest, so a flood fills nothing


def mail_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def reset_minutes() -> int:
    """How long a reset link works, for the page and the message that promise it."""
    return int(current_app.config["RESET_LINK_LIFETIME"].total_seconds() // 60)


def new_link(user: User, purpose: str, email: str | None = None) -> str:
    """A link's token for `user` (committed); only its hash is stored."""
    lifetime = current_app.config["RESET_LINK_LIFETIME" if purpose == RESET else "VERIFY_LINK_LIFETIME"]
    now = datetime.now(UTC)
    db.session.execute(delete(AccountLink).where(AccountLink.expires_at <= now))
    older = db.session.scalars(
        select(AccountLink.id)
        .where(AccountLink.user_id == user.id, AccountLink.purpose == purpose)
        .order_by(AccountLink.created_at.desc(), AccountLink.id.desc())
        .offset(MAX_OPEN_LINKS - 1)
    ).all()
    if older:
        db.session.execute(delete(AccountLink).where(AccountLink.id.in_(older)))
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            email=email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.commit()
    return token


def open_link(token: str, purpose: str) -> AccountLink | None:
    """The unexpired link of `purpose` for `token`, or None (unknown, used, expired or another kind)."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(AccountLink).where(AccountLink.token_hash == token_hash(token)))
    if link is None or link.purpose != purpose or link.expires_at <= datetime.now(UTC):
        return None
    return link


def set_password(user: User, password: str) -> None:
    """A new password ends every session (the epoch advances), every API token and every reset link."""
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(password_hash=hash_password(password), session_epoch=User.session_epoch + 1)
    )
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(
        delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == RESET)
    )
    db.session.commit()


def confirm_email(link: AccountLink) -> bool:
    """Make the link's address the user's recovery address; False when another account has it now."""
    email, user_id = link.email, link.user_id
    db.session.delete(link)
    taken = db.session.scalar(select(User.id).where(User.email == email, User.id != user_id))
    if taken is None:
        db.session.execute(update(User).where(User.id == user_id).values(email=email))
    db.session.commit()
    if taken is None:
        audit.record("email_confirmed", user_id)
    return taken is None


def send_reset(email: str) -> None:
    """Send a reset link if `email` is a user's recovery address; say nothing either way."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        return
    token = new_link(user, RESET)
    audit.record("reset_requested", user)
    link = url_for("auth.reset", token=token, _external=True)
    body = gettext(
        "Someone asked to reset the password of the scalpcheck account %(user)s. To choose a new one, open "
        "this link within %(minutes)d minutes:\n\n%(link)s\n\nIf it was not you, ignore this message: "
        "your password stays as it is.",
        user=user.username,
        minutes=reset_minutes(),
        link=link,
    )
    _send(email, gettext("Reset your scalpcheck password"), body)


def send_verification(user: User, email: str) -> None:
    token = new_link(user, VERIFY, email=email)
    link = url_for("account.verify_email", token=token, _external=True)
    body = gettext(
        "To make this the recovery address of the scalpcheck account %(user)s, open this link within a "
        "day:\n\n%(link)s\n\nIf you did not ask for this, ignore this message.",
        user=user.username,
        link=link,
    )
    _send(email, gettext("Confirm your scalpcheck recovery address"), body)


def _send(to: str, subject: str, body: str) -> None:
    """Send in a thread: the answer must not wait on the mail server, nor take longer when it sends."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    message = Message(subject=subject, recipients=[to], body=body)

    def deliver() -> None:
        with app.app_context():
            try:
                mail.send(message)
            except Exception:  # a mail server that is down must not take the page with it
                log.exception("could not send the %r message", subject)

    threading.Thread(target=deliver, name="scalpcheck-mail", daemon=True).start()
