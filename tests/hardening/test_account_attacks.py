"""Attacks on account recovery and two-factor sign-in: reusing, outliving, guessing and forging reset
links, telling which addresses have accounts, flooding the mail server; skipping the second step,
replaying a code, another user's recovery code, guessing codes."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import func, select, update

from scalpcheck.web.extensions import db
from scalpcheck.web.models import AccountLink
from scalpcheck.web.recovery import MAX_OPEN_LINKS
from tests.helpers.web import PASSWORD, AuthActions

pytestmark = pytest.mark.hardening

NEW = "another-password-7"


@pytest.fixture
def app(make_app, smtp):
    return make_app(**smtp.config, RATELIMIT_FORGOT="10000 per minute", RATELIMIT_LOGIN="10000 per minute")


def enrolled(client, smtp, username: str, email: str) -> None:
    auth = AuthActions(client)
    auth.signup(username)
    before = len(smtp.inbox.messages)
    assert client.post("/account/email", data={"email": email, "password": PASSWORD}).status_code == 303
    assert client.get(urlsplit(smtp.inbox.link(smtp.inbox.wait(before + 1)[-1])).path).status_code == 303
    auth.logout()


def reset_link(client, smtp, email: str) -> str:
    before = len(smtp.inbox.messages)
    client.post("/auth/forgot", data={"email": email})
    return urlsplit(smtp.inbox.link(smtp.inbox.wait(before + 1)[-1])).path


def resets(client, link: str) -> int:
    return client.post(link, data={"password": NEW, "confirm": NEW}).status_code


def test_a_reset_link_works_once_and_not_after_it_expires(app, client, smtp, tally):
    enrolled(client, smtp, "alice", "alice@example.org")
    link = reset_link(client, smtp, "alice@example.org")
    assert resets(client, link) == 303
    for _ in range(3):
        assert resets(client, link) == 404 and client.get(link).status_code == 404
    tally.tried("attack", "reset-link reuse", times=6)
    stale = reset_link(client, smtp, "alice@example.org")
    with app.app_context():
        db.session.execute(update(AccountLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    assert resets(client, stale) == 404
    assert AuthActions(client).login("alice", NEW).status_code == 303  # the first reset's password holds
    tally.tried("attack", "reset-link expiry")


def test_reset_links_cannot_be_guessed_forged_or_swapped(app, client, smtp, tally):
    enrolled(client, smtp, "alice", "alice@example.org")
    real = reset_link(client, smtp, "alice@example.org")
    token = real.rsplit("/", 1)[1]
    with app.app_context():  # the database holds the hash only: a copy of it opens nothing
        stored = db.session.scalars(select(AccountLink.token_hash)).all()
    forged = [
        secrets.token_urlsafe(32),
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token.upper(),
        token + "x",
        "x" * 5000,
        "' OR '1'='1",
        *stored,
    ]
    for attempt in forged:
        assert resets(client, f"/auth/reset/{attempt}") == 404, attempt
    tally.tried("attack", "reset-link guessing and forging", times=len(forged))
    # An address check's link is no reset link, nor the other way round.
    AuthActions(client).signup("mallory")
    client.post("/account/email", data={"email": "mallory@example.org", "password": PASSWORD})
    verify = urlsplit(smtp.inbox.link(smtp.inbox.wait(3)[-1])).path
    assert resets(client, "/auth/reset/" + verify.rsplit("/", 1)[1]) == 404
    assert client.get("/account/email/verify/" + token).status_code == 404
    tally.tried("attack", "link of the other purpose", times=2)
    assert resets(client, real) == 303  # after all that, the real link still works


def test_forgot_password_tells_nobody_which_addresses_have_accounts(app, client, smtp, tally):
    enrolled(client, smtp, "alice", "alice@example.org")
    client.get("/auth/login")  # the logout's message
    answers = {
        email: client.post("/auth/forgot", data={"email": email}, follow_redirects=True)
        for email in ("alice@example.org", "nobody@example.org", "ALICE@EXAMPLE.ORG ", "alice@example.com")
    }
    pages = {(r.status_code, r.get_data(as_text=True)) for r in answers.values()}
    assert len(pages) == 1
    assert smtp.inbox.quiet(1.0) == 1 + 2  # the address check, and the two spellings of alice's address
    tally.tried("attack", "account enumeration by reset", times=len(answers))


def test_reset_requests_cannot_flood_an_account_or_outlive_the_limit(make_app, smtp, tally):
    client = make_app(**smtp.config, RATELIMIT_FORGOT="5 per minute").test_client()
    enrolled(client, smtp, "alice", "alice@example.org")
    statuses = [
        client.post("/auth/forgot", data={"email": "alice@example.org"}).status_code for _ in range(7)
    ]
    assert statuses == [303] * 5 + [429] * 2
    tally.tried("attack", "reset request flood", times=len(statuses))
    with client.application.app_context():
        open_links = db.session.scalar(
            select(func.count()).select_from(AccountLink).where(AccountLink.purpose == "reset")
        )
    assert open_links <= MAX_OPEN_LINKS


def test_reset_form_posts_are_limited_like_logins(make_app, smtp, tally):
    client = make_app(**smtp.config, RATELIMIT_LOGIN="3 per minute").test_client()
    statuses = [resets(client, f"/auth/reset/{secrets.token_urlsafe(32)}") for _ in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    tally.tried("attack", "reset-link brute force", times=len(statuses))


# ---------------------------------------------------------------------------------- two-factor sign-in
def enrolled_2fa(client, username: str) -> tuple[str, list[str]]:
    AuthActions(client).signup(username)
    page = client.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r'<code translate="no">([A-Z2-7]+)</code>', page).group(1)
    done = client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    codes = re.findall(r"<li><code>([A-Z2-9-]{11})</code></li>", done.get_data(as_text=True))
    AuthActions(client).logout()
    return secret, codes


def test_the_second_step_cannot_be_skipped(app, client, tally):
    enrolled_2fa(client, "alice")
    assert AuthActions(client).login("alice").status_code == 303  # the password was right
    pages = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static"))
    )
    for page in pages:
        response = client.get(page)
        assert 'action="/auth/logout"' not in response.get_data(as_text=True), page  # nobody is logged in
    for page in ("/account", "/history", "/account/audit", "/account/2fa", "/assess/scalp"):
        assert client.get(page).status_code == 302, page
    assert client.post("/api/v1/tokens", auth=("alice", PASSWORD)).status_code == 401
    tally.tried("attack", "second step skipped", times=len(pages) + 6)


def test_a_code_cannot_be_replayed(app, client, tally):
    secret, _ = enrolled_2fa(client, "alice")
    totp = pyotp.TOTP(secret)
    code = totp.at(time.time() + totp.interval)
    auth = AuthActions(client)
    auth.login("alice")
    assert client.post("/auth/2fa", data={"code": code}).status_code == 303
    auth.logout()
    for _ in range(3):
        auth.login("alice")
        assert client.post("/auth/2fa", data={"code": code}).status_code == 401
    headers = {"X-TOTP-Code": code}
    assert client.post("/api/v1/tokens", auth=("alice", PASSWORD), headers=headers).status_code == 401
    tally.tried("attack", "totp code replayed", times=4)


def test_another_users_recovery_code_does_not_open_an_account(app, client, tally):
    _, alices = enrolled_2fa(client, "alice")
    _, bobs = enrolled_2fa(client, "bob")
    auth = AuthActions(client)
    auth.login("alice")
    for code in bobs[:5]:
        assert client.post("/auth/2fa", data={"code": code}).status_code == 401
    tally.tried("attack", "another user's recovery code", times=5)
    assert client.post("/auth/2fa", data={"code": alices[0]}).status_code == 303
    auth.logout()
    auth.login("bob")
    assert client.post("/auth/2fa", data={"code": bobs[0]}).status_code == 303  # bob's are all still there


def test_second_step_guessing_is_limited_like_logins(make_app, smtp, tally):
    client = make_app(**smtp.config, RATELIMIT_LOGIN="4 per minute").test_client()
    enrolled_2fa(client, "alice")  # one login used
    AuthActions(client).login("alice")  # and another
    statuses = [client.post("/auth/2fa", data={"code": f"{n:06d}"}).status_code for n in range(6)]
    assert statuses == [401] * 4 + [429] * 2
    tally.tried("attack", "second-step brute force", times=len(statuses))
