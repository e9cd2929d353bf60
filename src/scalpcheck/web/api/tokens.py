"""API bearer tokens: issued for a username and password, stored as a SHA-256, expiring, revocable.

A token is 256 random bits, so a plain SHA-256 is enough to store it (nothing to brute-force, unlike a
password), and lookups by hash stay a single indexed query.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy import delete, select

from scalpcheck.web.api.errors import unauthorized
from scalpcheck.web.extensions import db
from scalpcheck.web.models import ApiToken, User, token_hash, utcnow

TOKEN_PREFIX = "sct_"  # makes a leaked token recognisable to secret scanners


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new token for the user, valid for API_TOKEN_LIFETIME; the user's expired tokens are cleared."""
    now = utcnow()
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= now))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + current_app.config["API_TOKEN_LIFETIME"],
    )
    db.session.add(row)
    db.session.commit()
    return token, row


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def find_token(token: str, now: datetime | None = None) -> ApiToken | None:
    """The stored token, if it exists and has not expired."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


def token_required(view):
    """Run the view with g.api_user and g.api_token set from a valid bearer token; else 401."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        token = bearer_token()
        if token is None:
            return unauthorized(
                "Send an API token: Authorization: Bearer <token> (get one from POST /api/v1/tokens)."
            )
        row = find_token(token)
        if row is None:
            return unauthorized(
                "The API token is invalid, expired or revoked. Get a new one from POST /api/v1/tokens."
            )
        g.api_token = row
        g.api_user = db.session.get(User, row.user_id)
        return view(*args, **kwargs)

    return wrapped
