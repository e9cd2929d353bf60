"""Account recovery (scalpcheck.web.recovery): a recovery address proved by a link, a reset link by mail
through a real SMTP server on loopback, a new password that ends every session and token, and the
administrator's command when there is no mail server."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from scalpcheck.cli import main
from scalpcheck.web.extensions import db
from scalpcheck.web.models import AccountLink, ApiToken, User
from tests.helpers.web import PASSWORD, AuthActions

NEW_PASSWORD = "a-new-password-42"


@pytest.fixture
def app(make_app, smtp):
    return make_app(**smtp.config)


def path_of(link: str) -> str:
    return urlsplit(link).path


def enrol(client, auth, smtp, email: str = "alice@example.org", username: str = "alice") -> None:
    """Sign up and prove a recovery address by its link."""
    auth.signup(username)
    before = len(smtp.inbox.messages)
    response = client.post("/account/email", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303
    message = smtp.inbox.wait(before + 1)[-1]
    assert message["To"] == email
    assert client.get(path_of(smtp.inbox.link(message))).status_code == 303


def email_of(app, username: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.email).where(User.username == username))


def test_a_recovery_address_is_set_only_once_its_link_is_opened(app, client, auth, smtp):
    auth.signup()
    assert "none yet" in client.get("/account/email").get_data(as_text=True)
    wrong = client.post("/account/email", data={"email": "alice@example.org", "password": "not-it-at-all"})
    assert wrong.status_code == 422 and "That is not your password." in wrong.get_data(as_text=True)
    assert smtp.inbox.quiet(0.5) == 0
    bad = client.post("/account/email", data={"email": "no-at-sign", "password": PASSWORD})
    assert bad.status_code == 422
    response = client.post("/account/email", data={"email": " Alice@Example.org ", "password": PASSWORD})
    assert response.status_code == 303
    (message,) = smtp.inbox.wait(1)
    assert message["To"] == "alice@example.org" and "confirm" in message["Subject"].lower()
    assert email_of(app, "alice") is None  # not before the link is opened
    link = path_of(smtp.inbox.link(message))
    auth.logout()  # the link works from a mail app that is not logged in
    assert client.get(link).status_code == 303
    assert email_of(app, "alice") == "alice@example.org"
    assert client.get(link).status_code == 404  # once only


def test_forgot_password_sends_a_link_that_sets_a_new_password_once(app, client, auth, smtp):
    enrol(client, auth, smtp)
    token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    other = app.test_client()
    assert AuthActions(other).login("alice").status_code == 303  # a second session, elsewhere
    auth.logout()
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot"' in page
    response = client.post("/auth/forgot", data={"email": "ALICE@example.org"})
    assert response.status_code == 303
    message = smtp.inbox.wait(2)[-1]
    assert message["To"] == "alice@example.org" and "alice" in message.get_body().get_content()
    link = path_of(smtp.inbox.link(message))
    assert link.startswith("/auth/reset/")
    assert client.get(link).status_code == 200
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "something-else"})
    assert mismatch.status_code == 422
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert client.get(link).status_code == 404  # used
    assert auth.login("alice", PASSWORD).status_code == 401
    assert auth.login("alice", NEW_PASSWORD).status_code == 303
    assert other.get("/account").status_code == 302  # the other session is over
    assert client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, client, auth, smtp):
    enrol(client, auth, smtp)
    auth.logout()
    client.get("/auth/login")  # shows the logout's message
    known = client.post("/auth/forgot", data={"email": "alice@example.org"}, follow_redirects=True)
    unknown = client.post("/auth/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert smtp.inbox.quiet(1.0) == 2  # the address check, and one reset link: none for the stranger


def test_an_expired_link_does_not_work(app, client, auth, smtp):
    enrol(client, auth, smtp)
    auth.logout()
    client.post("/auth/forgot", data={"email": "alice@example.org"})
    link = path_of(smtp.inbox.link(smtp.inbox.wait(2)[-1]))
    with app.app_context():
        db.session.execute(update(AccountLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(link).status_code == 404
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    assert auth.login("alice", PASSWORD).status_code == 303


def test_an_address_another_account_holds_is_not_taken(app, client, auth, smtp):
    enrol(client, auth, smtp, username="alice")
    auth.logout()
    auth.signup("bob")
    client.post("/account/email", data={"email": "alice@example.org", "password": PASSWORD})
    link = path_of(smtp.inbox.link(smtp.inbox.wait(2)[-1]))
    page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Another account uses that address now" in page
    assert email_of(app, "bob") is None and email_of(app, "alice") == "alice@example.org"


def test_without_a_mail_server_the_pages_say_recovery_is_not_available(make_app):
    client = make_app().test_client()
    auth = AuthActions(client)
    text = client.get("/auth/forgot").get_data(as_text=True)
    assert "Recovery by e-mail is not available on this server" in text and 'name="email"' not in text
    assert client.post("/auth/forgot", data={"email": "a@example.org"}).status_code == 200
    auth.signup()
    text = client.get("/account/email").get_data(as_text=True)
    assert "Recovery by e-mail is not available" in text and 'name="email"' not in text


def test_the_administrator_resets_a_password(app, client, auth, smtp, monkeypatch, capsys):
    auth.signup()
    token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{NEW_PASSWORD}\n"))
    assert main(["user", "reset-password", "Alice"]) == 0
    assert "alice" in capsys.readouterr().out
    assert client.get("/account").status_code == 302  # logged out
    assert client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert auth.login("alice", NEW_PASSWORD).status_code == 303
    assert main(["user", "reset-password", "alice", "--generate"]) == 0
    generated = capsys.readouterr().out.split("new password: ")[1].strip()
    assert auth.login("alice", generated).status_code == 303
    assert main(["user", "reset-password", "nobody", "--generate"]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "reset-password", "alice"]) == 2
    auth.logout()
    assert auth.login("alice", generated).status_code == 303  # unchanged


def test_changing_the_password_asks_for_the_old_one_and_ends_every_session(app, client, auth):
    auth.signup()
    token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    other = app.test_client()
    assert AuthActions(other).login("alice").status_code == 303
    form = {"current": "not-the-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/account/password", data=form).status_code == 422
    mismatch = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": "something else"}
    assert client.post("/account/password", data=mismatch).status_code == 422
    response = client.post("/account/password", data={**form, "current": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    for browser in (client, other):
        assert browser.get("/account").status_code == 302
    assert client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert auth.login("alice", PASSWORD).status_code == 401
    assert auth.login("alice", NEW_PASSWORD).status_code == 303
    assert "Password changed" in client.get("/account/audit").get_data(as_text=True)
