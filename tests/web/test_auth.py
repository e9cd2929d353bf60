"""Registration, login, logout: rules, errors, redirects, sessions and rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scalpcheck.web.auth.routes import WRONG_CREDENTIALS, safe_next
from scalpcheck.web.extensions import db
from scalpcheck.web.models import User
from tests.helpers.web import PASSWORD


def test_pages_render(client):
    for url in ("/auth/login", "/auth/register"):
        response = client.get(url)
        assert response.status_code == 200
        assert b'name="username"' in response.data and b'name="password"' in response.data
    assert b'name="confirm"' in client.get("/auth/register").data


def test_anonymous_users_go_to_login(client):
    for url in ("/", "/history", "/account", "/assess/scalp", "/assessments/1", "/assessments/1/image"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")


def test_register_then_login(app, client, auth):
    response = auth.register("Alice")
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.username == "alice"  # usernames are case-insensitive
        assert user.password_hash.startswith("$argon2id$") and auth.password not in user.password_hash
    response = auth.login("ALICE")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and b"What would you like to check?" in page.data


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("al", PASSWORD, None, b"Field must be between 3 and 32 characters long."),
        ("bad name!", PASSWORD, None, b"Use letters, digits, dots, dashes or underscores."),
        ("x" * 33, PASSWORD, None, b"Field must be between 3 and 32 characters long."),
        ("bob", "short", None, b"Field must be between 8 and 256 characters long."),
        ("bob", PASSWORD, "something else", b"The two passwords do not match."),
        ("bob", "", None, b"This field is required."),
    ],
)
def test_register_refuses_bad_fields(auth, user_id, username, password, confirm, message):
    response = auth.register(username, password, confirm)
    assert response.status_code == 422
    assert message in response.data
    assert user_id(username.lower()) is None


def test_register_refuses_a_taken_username(app, auth):
    auth.register("alice")
    response = auth.register("Alice", "another password")
    assert response.status_code == 422
    assert b"That username is taken" in response.data


def test_wrong_credentials_get_one_message(client, auth):
    auth.register()
    client.get("/auth/login")  # shows (and so clears) the "account is ready" message
    wrong_password = auth.login("alice", "not the password")
    unknown_user = auth.login("nobody", PASSWORD)
    for response in (wrong_password, unknown_user):
        assert response.status_code == 401
        assert WRONG_CREDENTIALS.encode() in response.data
    # the two pages differ only in the username typed back into the form
    assert wrong_password.data.replace(b"alice", b"nobody") == unknown_user.data


def test_login_follows_local_next_only(auth):
    auth.register()
    assert auth.login(next_page="/history").headers["Location"] == "/history"
    auth.logout()
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/x",
        "javascript:alert(1)",
    ):
        response = auth.login(next_page=target)
        assert response.status_code == 303 and response.headers["Location"] == "/"
        auth.logout()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/history?task=scalp", "/history?task=scalp"),
        ("/", "/"),
        (None, None),
        ("", None),
        ("history", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("/\t/evil.example", None),
        ("https://evil.example/x", None),
        ("/x:y", "/x:y"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_logout_is_post_only_and_ends_the_session(client, auth):
    auth.signup()
    assert client.get("/auth/logout").status_code == 405
    response = auth.logout()
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_login_starts_a_new_session(app, client, auth, user_id):
    """Session fixation: a session cookie set before login never becomes the logged-in session."""
    auth.register()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    auth.login()
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == str(user_id("alice"))
    # the old cookie is not logged in
    other = app.test_client()
    other.set_cookie("session", before)
    assert other.get("/").status_code == 302


def test_login_is_rate_limited(make_app):
    app = make_app(RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    statuses = [
        client.post("/auth/login", data={"username": "x", "password": "wrong pass"}).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    response = client.post("/auth/login", data={"username": "x", "password": "wrong pass"})
    assert response.status_code == 429
    assert b"Too many attempts" in response.data and response.mimetype == "text/html"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert client.get("/auth/login").status_code == 200  # only submissions count


def test_register_is_rate_limited(make_app):
    app = make_app(RATELIMIT_REGISTER="2 per minute")
    client = app.test_client()
    statuses = [
        client.post(
            "/auth/register", data={"username": f"user{i}", "password": PASSWORD, "confirm": PASSWORD}
        ).status_code
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]
