"""Two-factor sign-in (scalpcheck.web.twofactor): enrolling an authenticator app, the login's second step,
recovery codes, API tokens with X-TOTP-Code, and turning it off."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from scalpcheck.web.extensions import db
from scalpcheck.web.models import User
from tests.helpers.web import PASSWORD, AuthActions


def enrol(client) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for the logged-in user: (secret, recovery codes)."""
    page = client.get("/account/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code
    secret = re.search(r'<code translate="no">([A-Z2-7]+)</code>', page).group(1)
    code = pyotp.TOTP(secret).now()
    response = client.post("/account/2fa", data={"code": code, "password": PASSWORD})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def next_code(secret: str) -> str:
    """A code of a later time step than any taken so far (a code works once)."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + totp.interval)


def test_enrolling_needs_a_right_code_and_the_password(client, auth, app):
    auth.signup()
    page = client.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r'<code translate="no">([A-Z2-7]+)</code>', page).group(1)
    assert client.get("/account/2fa").get_data(as_text=True).count(secret) == 1  # the same secret until done
    wrong = client.post("/account/2fa", data={"code": "000000", "password": PASSWORD})
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    bad_password = client.post(
        "/account/2fa", data={"code": pyotp.TOTP(secret).now(), "password": "nope-nope"}
    )
    assert bad_password.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User.totp_secret)) is None
    assert (
        client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD}).status_code
        == 200
    )
    with app.app_context():
        assert db.session.scalar(select(User.totp_secret)) == secret
    assert "Two-factor sign-in is on" in client.get("/account/2fa").get_data(as_text=True)


def test_the_password_alone_no_longer_logs_in(client, auth):
    auth.signup()
    secret, _ = enrol(client)
    auth.logout()
    response = auth.login()
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/2fa")
    assert client.get("/account").status_code == 302  # skipping the second step gets nowhere
    assert client.get("/history").status_code == 302
    wrong = client.post("/auth/2fa", data={"code": "123456"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    code = next_code(secret)
    assert client.post("/auth/2fa", data={"code": code}).status_code == 303
    assert client.get("/account").status_code == 200
    auth.logout()
    auth.login()
    assert client.post("/auth/2fa", data={"code": code}).status_code == 401  # a code works once


def test_a_recovery_code_logs_in_once(client, auth):
    auth.signup()
    _, codes = enrol(client)
    auth.logout()
    auth.login()
    assert client.post("/auth/2fa", data={"code": codes[0].lower().replace("-", " ")}).status_code == 303
    auth.logout()
    auth.login()
    assert client.post("/auth/2fa", data={"code": codes[0]}).status_code == 401
    assert client.post("/auth/2fa", data={"code": codes[1]}).status_code == 303
    assert "8 recovery codes are left" in client.get("/account/2fa").get_data(as_text=True)


def test_api_tokens_need_the_code_once_it_is_on(client, auth):
    auth.signup()
    secret, _ = enrol(client)
    basic = ("alice", PASSWORD)
    refused = client.post("/api/v1/tokens", auth=basic)
    assert refused.status_code == 401 and "X-TOTP-Code" in refused.json["error"]["message"]
    assert client.post("/api/v1/tokens", auth=basic, headers={"X-TOTP-Code": "000000"}).status_code == 401
    code = next_code(secret)
    assert client.post("/api/v1/tokens", auth=basic, headers={"X-TOTP-Code": code}).status_code == 201
    assert client.post("/api/v1/tokens", auth=basic, headers={"X-TOTP-Code": code}).status_code == 401


def test_turning_it_off_needs_a_code_and_the_password(client, auth):
    auth.signup()
    secret, codes = enrol(client)
    off = client.post("/account/2fa/off", data={"code": "000000", "password": PASSWORD})
    assert off.status_code == 422
    off = client.post("/account/2fa/off", data={"code": codes[3], "password": PASSWORD})
    assert off.status_code == 303
    auth.logout()
    assert auth.login().headers["Location"] == "/"  # one step again
    assert client.post("/api/v1/tokens", auth=("alice", PASSWORD)).status_code == 201


@pytest.mark.parametrize("stale", [True, False])
def test_a_pending_second_step_ends_with_a_logout_or_time(client, auth, app, monkeypatch, stale):
    auth.signup()
    secret, _ = enrol(client)
    auth.logout()
    auth.login()
    if stale:
        monkeypatch.setattr("scalpcheck.web.auth.routes.SECOND_STEP_S", -1)
    else:  # a logout elsewhere ends every session, a half-done login included
        other = app.test_client()
        AuthActions(other).login()
        with app.app_context():
            user = db.session.scalar(select(User))
            user.session_epoch += 1
            db.session.commit()
    response = client.post("/auth/2fa", data={"code": next_code(secret)})
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/login")
    assert client.get("/account").status_code == 302
