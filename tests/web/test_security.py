"""Security headers, cookie flags, CSRF on every form, and error answers in the right shape."""

from __future__ import annotations

import re

import pytest

PERMISSIONS_POLICY = {"camera": "(self)", "microphone": "()", "geolocation": "()"}


def assert_only_this_origin(policy: str, kind: str) -> None:
    """What the content security policy promises, checked for its meaning rather than its wording: scripts,
    styles and forms from this origin only, nothing inline, framed by no one, photo previews as blob: URLs."""
    csp = {name: set(sources) for name, *sources in (d.split() for d in policy.split(";"))}
    assert csp["default-src"] == {"'self'"} and not {"script-src", "style-src"} & set(csp), (kind, csp)
    # No host and no 'unsafe-' keyword anywhere.
    assert set().union(*csp.values()) <= {"'self'", "'none'", "data:", "blob:"}, (kind, csp)
    assert csp["object-src"] == csp["frame-ancestors"] == {"'none'"}, (kind, csp)
    assert csp["base-uri"] == csp["form-action"] == {"'self'"}, (kind, csp)
    assert "blob:" in csp["img-src"], (kind, csp)


def test_security_headers_on_every_kind_of_response(client, auth):
    auth.register()
    responses = {
        "page": client.get("/auth/login"),
        "redirect": client.get("/"),
        "not found": client.get("/no/such/page"),
        "json": client.get("/api/v1/tasks"),
        "json error": client.get("/api/v1/assessments"),
        "static": client.get("/static/app.css"),
    }
    assert responses["redirect"].status_code == 302 and responses["not found"].status_code == 404
    for kind, response in responses.items():
        sent = response.headers
        assert_only_this_origin(sent["Content-Security-Policy"], kind)
        assert sent["X-Frame-Options"] == "DENY", kind
        assert sent["X-Content-Type-Options"] == "nosniff", kind
        assert sent["Referrer-Policy"] == "same-origin", kind
        assert sent["Cross-Origin-Opener-Policy"] == "same-origin", kind
        features = dict(item.strip().split("=", 1) for item in sent["Permissions-Policy"].split(","))
        assert features == PERMISSIONS_POLICY, kind
    # Pages and JSON hold health data: no cache may keep them (static files set their own caching).
    for kind in ("page", "redirect", "not found", "json", "json error"):
        assert responses[kind].headers["Cache-Control"] == "no-store", kind


def test_pages_have_no_inline_script_or_style(client, auth):
    """The CSP forbids them; a page that used them would be broken, not just unsafe."""
    auth.register()
    pages = [client.get("/auth/register").data, client.get("/auth/login").data]
    auth.login()
    pages += [client.get(url).data for url in ("/", "/history", "/account", "/assess/scalp")]
    for html in pages:
        assert not re.search(rb"<script(?![^>]*\bsrc=)", html)
        assert b" style=" not in html and b"<style" not in html and b"javascript:" not in html


def test_session_cookie_flags(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)  # the default outside the loopback development server
    client = app.test_client()
    client.post("/auth/register", data={"username": "alice", "password": "p" * 10, "confirm": "p" * 10})
    response = client.post(
        "/auth/login", data={"username": "alice", "password": "p" * 10}, base_url="https://localhost"
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_cookies_are_secure_by_default(home):
    from scalpcheck.web import create_app

    config = create_app().config
    assert config["SESSION_COOKIE_SECURE"] is True and config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


FORMS = [
    ("/auth/register", {"username": "carol", "password": "p" * 10, "confirm": "p" * 10}),
    ("/auth/login", {"username": "alice", "password": "correct horse battery"}),
    ("/auth/logout", {}),
    ("/assess/scalp", {}),
    ("/assessments/1/delete", {}),
    ("/account/delete", {"password": "correct horse battery", "confirm": "y"}),
]


@pytest.mark.parametrize(("url", "data"), FORMS, ids=[url for url, _ in FORMS])
def test_every_form_refuses_a_post_without_csrf_token(make_app, url, data):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/auth/register").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    password = "correct horse battery"
    client.post(
        "/auth/register",
        data={"username": "alice", "password": password, "confirm": password, "csrf_token": token},
    )
    assert (
        client.post(
            "/auth/login", data={"username": "alice", "password": password, "csrf_token": token}
        ).status_code
        == 303
    )
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert b"This form has expired" in response.data
    assert client.get("/account").status_code == 200  # still logged in, account still there


def test_forms_work_with_their_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/auth/register").data.decode()
    ).group(1)
    data = {"username": "alice", "password": "p" * 10, "confirm": "p" * 10, "csrf_token": token}
    assert client.post("/auth/register", data=data).status_code == 303
    assert client.post("/auth/login", data=data).status_code == 303
    page = client.get("/").data.decode()  # the logout button's form carries the token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 303


def test_the_api_needs_no_csrf_token(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/api/v1/tokens", auth=("nobody", "wrong password"))
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("proxies", [0, 1])
def test_rate_limits_key_on_the_client_behind_a_trusted_proxy(make_app, proxies):
    client = make_app(RATELIMIT_LOGIN="1 per minute", TRUSTED_PROXIES=proxies).test_client()

    def login_from(address: str) -> int:
        data = {"username": "x", "password": "wrong pass"}
        return client.post("/auth/login", data=data, headers={"X-Forwarded-For": address}).status_code

    assert login_from("203.0.113.1") == 401
    # Trusted, the header tells users apart; untrusted, it is ignored (anyone could forge it).
    assert login_from("203.0.113.2") == (401 if proxies else 429)


def test_errors_are_pages_for_people_and_json_for_the_api(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    for url, status, code in [
        ("/api/v1/nowhere", 404, "not_found"),
        ("/api/v1/assessments", 401, "unauthorized"),
    ]:
        response = client.get(url)
        assert response.status_code == status and response.json == {
            "error": {"code": code, "message": response.json["error"]["message"]}
        }
        assert response.json["error"]["code"] == code and response.json["error"]["message"]
    response = client.put("/api/v1/tasks")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
