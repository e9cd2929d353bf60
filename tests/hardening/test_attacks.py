"""Attacks on the app: other users' data, forms without their CSRF token, open redirects, stolen and forged
session cookies, script injection, forged tokens, SQL injection. Every route under attack is taken from the
app's URL map, so a route added later is attacked too.

tests/web holds the first case of several (the fixed list of forms without a token, a few `next` targets, a
planted session, expired and revoked tokens); these go through every route and every field.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from markupsafe import escape
from sqlalchemy import func, select

from scalpcheck import bundle
from scalpcheck.web.extensions import db
from scalpcheck.web.models import ApiToken, Assessment, User
from tests.helpers.http import Uploader, new_uploader
from tests.helpers.photos import phantom_jpeg
from tests.helpers.storage import store_state
from tests.helpers.web import PASSWORD, AuthActions

pytestmark = pytest.mark.hardening

# Attacks send many logins and registrations from one address; the rate limits have their own tests.
GENEROUS_LIMITS = {
    "RATELIMIT_LOGIN": "10000 per minute",
    "RATELIMIT_REGISTER": "10000 per minute",
    "RATELIMIT_TOKENS": "10000 per minute",
}
HUGE_IDS = (2**31, 2**63, 10**30)  # past the id column, past 64 bits, past anything


@pytest.fixture
def app(random_models, make_app):
    return make_app(**GENEROUS_LIMITS)


def build_url(app, endpoint: str, method: str, **values) -> str:
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def routes_with(app, argument: str) -> list[tuple[str, str]]:
    """(endpoint, method) of every route that takes `argument`, from the URL map."""
    return sorted(
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if argument in rule.arguments
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


# ------------------------------------------------------------------------------------ other users' data
def attack_ids(app, client, tally, attacker: Uploader, routes, argument: str, target: int, own: int) -> None:
    """Each route with `argument` set to another user's id, a missing one and HUGE_IDS: 404 for `attacker`,
    the same answer for the first two (but for the page's time-stamped CSRF token: ids reveal nothing), and
    the login wanted from a stranger."""
    anonymous = app.test_client()
    for endpoint, method in routes:
        api = endpoint.startswith("api.")
        answers = {}
        for value in (target, own + 1_000, *HUGE_IDS):
            url = build_url(app, endpoint, method, **{argument: value})
            response = client.open(url, method=method, headers=attacker.headers if api else {})
            tally.tried("attack", f"other-users-data {method} {endpoint}")
            assert response.status_code == 404, (method, url)
            if api:
                assert response.json["error"]["code"] == "not_found"
            answers[value] = re.sub(rb'name="csrf_token" value="[^"]*"', b"", response.data)
            stranger = anonymous.open(url, method=method)
            tally.tried("attack", f"anonymous {method} {endpoint}")
            assert stranger.status_code == (401 if api else 302), (method, url)
        assert answers[target] == answers[own + 1_000], (method, endpoint)


def test_no_route_reaches_another_users_assessment(app, client, auth, tally):
    alice = new_uploader(client, "alice")
    target = alice.send("api", ("image", "p.jpg", phantom_jpeg(seed=1))).assessment_id
    auth.logout()
    mallory = new_uploader(client, "mallory")
    own = mallory.send("api", ("image", "p.jpg", phantom_jpeg(seed=2))).assessment_id
    before = store_state(app)
    routes = routes_with(app, "assessment_id")
    assert {endpoint for endpoint, _ in routes} >= {
        "assess.result", "assess.image", "assess.heatmap", "assess.thumbnail", "assess.delete",
        "api.get_assessment", "api.delete", "api.image", "api.heatmap",
    }  # fmt: skip
    attack_ids(app, client, tally, mallory, routes, "assessment_id", target, own)
    assert [item["id"] for item in mallory.get("/api/v1/assessments").json["items"]] == [own]
    assert f"/assessments/{target}/".encode() not in client.get("/history").data
    assert store_state(app) == before
    tally.checked_storage()
    auth.logout()
    auth.login("alice")
    for endpoint, method in routes:
        if method == "GET":
            url = build_url(app, endpoint, method, assessment_id=target)
            api = endpoint.startswith("api.")
            assert client.get(url, headers=alice.headers if api else {}).status_code == 200, url


def test_no_route_reaches_another_users_visit(app, client, auth, tally):
    def visit(uploader: Uploader, seed: int) -> int:
        photo = (io.BytesIO(phantom_jpeg(seed=seed)), "p.jpg")
        form = {"task": "scalp", "image": [photo], "region": ["crown"]}
        response = client.post("/api/v1/visits", data=form, headers=uploader.headers)
        assert response.status_code == 201, response.data[:300]
        return response.json["id"]

    target = visit(new_uploader(client, "alice"), 1)
    auth.logout()
    mallory = new_uploader(client, "mallory")
    own = visit(mallory, 2)
    before = store_state(app)
    routes = routes_with(app, "visit_id")
    assert {e for e, _ in routes} >= {"visits.show", "visits.delete", "api.get_visit", "api.delete_visit_"}
    attack_ids(app, client, tally, mallory, routes, "visit_id", target, own)
    for first, second in ((f"v{target}", f"v{own}"), (f"v{own}", f"v{target}"), (f"v{target}", f"v{target}")):
        assert client.get(f"/history/compare?first={first}&second={second}").status_code == 404
    assert [item["id"] for item in mallory.get("/api/v1/visits").json["items"]] == [own]
    assert store_state(app) == before
    tally.checked_storage()


# --------------------------------------------------------------------------------------------- CSRF
def csrf_token(html: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()


# Valid fields for each form, so that the token is the only thing wrong with the request.
FORM_FIELDS = {
    "auth.register": {"username": "carol", "password": PASSWORD, "confirm": PASSWORD},
    "auth.login": {"username": "alice", "password": PASSWORD},
    "account.delete": {"password": PASSWORD, "confirm": "y"},
    "account.email": {"email": "carol@example.org", "password": PASSWORD},
    "auth.forgot": {"email": "alice@example.org"},
    "auth.reset": {"password": "carol-was-here", "confirm": "carol-was-here"},
}


def test_every_form_refuses_a_request_without_its_csrf_token(random_models, make_app, user_id, tally):
    app = make_app(WTF_CSRF_ENABLED=True, **GENEROUS_LIMITS)
    client = app.test_client()
    token = csrf_token(client.get("/auth/register").data)
    signup = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
    assert client.post("/auth/register", data=signup).status_code == 303
    assert client.post("/auth/login", data=signup).status_code == 303
    api_token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    alice = Uploader(client, api_token)
    target = alice.send("api", ("image", "p.jpg", phantom_jpeg(seed=3))).assessment_id
    other_session_token = csrf_token(app.test_client().get("/auth/login").data)

    forms = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("api.")
    )
    assert set(forms) >= {
        "auth.register", "auth.login", "auth.logout", "assess.upload", "assess.delete", "account.delete"
    }  # fmt: skip
    before = store_state(app)
    for endpoint in forms:
        url = build_url(app, endpoint, "POST", task="scalp", assessment_id=target, visit_id=1, token="t" * 43)
        for variant, extra in {
            "no token": {},
            "forged token": {"csrf_token": "forged-" + token[7:]},
            "another session's token": {"csrf_token": other_session_token},
        }.items():
            data = {**FORM_FIELDS.get(endpoint, {}), **extra}
            if endpoint == "assess.upload":
                data["image"] = (io.BytesIO(phantom_jpeg(seed=4)), "p.jpg")
            response = client.post(url, data=data)
            tally.tried("attack", f"csrf {variant} {endpoint}")
            assert response.status_code == 400 and b"This form has expired" in response.data, (
                endpoint,
                variant,
            )
    assert client.get("/account").status_code == 200  # still logged in, account still there
    assert user_id("carol") is None and store_state(app) == before
    tally.checked_storage()
    # The same upload with its token goes through: the refusals above were the token's doing.
    fresh = csrf_token(client.get("/assess/scalp").data)  # logging in began a new session, with a new token
    upload = {"csrf_token": fresh, "image": (io.BytesIO(phantom_jpeg(seed=4)), "p.jpg")}
    assert client.post("/assess/scalp", data=upload).status_code == 303


def test_the_api_ignores_the_session_cookie(app, client, tally):
    """The API is exempt from CSRF because a browser's cookie is no credential there: only a bearer token."""
    alice = new_uploader(client, "alice")  # the client holds alice's logged-in session cookie
    target = alice.send("api", ("image", "p.jpg", phantom_jpeg(seed=5))).assessment_id
    public = {("api.tasks", "GET"), ("api.openapi", "GET")}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if not rule.endpoint.startswith("api.") or (rule.endpoint, method) in public:
                continue
            url = build_url(app, rule.endpoint, method, assessment_id=target, visit_id=1, task="scalp")
            response = client.open(url, method=method, data={"task": "scalp"})
            tally.tried("attack", f"cookie-only {method} {rule.endpoint}")
            assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized", url
    assert alice.get(f"/api/v1/assessments/{target}").status_code == 200


# ------------------------------------------------------------------------------------ open redirects
# `next` as an attacker would write it into a link (already percent-encoded where a browser would need it).
OFF_SITE = [
    "https://evil.example/",
    "https%3A%2F%2Fevil.example%2F",
    "http:evil.example",
    "https:/evil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%2Fevil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "%2F%5Cevil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "%20//evil.example",
    "/%E3%80%82/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt%3Aalert(1)",
    "%6A%61vascript:alert(1)",
    "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "/%252F%252Fevil.example",
    "@evil.example",
    "/%40evil.example",
]


def lands_on(location: str) -> tuple[str, str]:
    """(scheme, host) a browser goes to for this Location, read as browsers read it: tabs and line breaks
    dropped, backslashes taken for slashes, relative to the page it came from."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/").strip()
    parts = urlsplit(urljoin("http://localhost/auth/login", cleaned))
    return parts.scheme, parts.hostname or ""


def test_next_never_leads_off_the_site(client, auth, tally):
    auth.register()
    assert auth.login(next_page="/history").headers["Location"] == "/history"  # a local one is honoured
    auth.logout()
    for target in OFF_SITE:
        login = client.post(f"/auth/login?next={target}", data={"username": "alice", "password": PASSWORD})
        assert login.status_code == 303 and lands_on(login.headers["Location"]) == ("http", "localhost"), (
            target,
            login.headers["Location"],
        )
        # Logged in, the login page forwards at once: the same check applies.
        again = client.get(f"/auth/login?next={target}")
        assert again.status_code == 302 and lands_on(again.headers["Location"]) == ("http", "localhost")
        auth.logout()
        # Logged out, the form posts back with `next` only when it is local.
        action = re.search(
            r'<form method="post" action="([^"]*)"', client.get(f"/auth/login?next={target}").text
        )
        assert lands_on(action.group(1).replace("&amp;", "&")) == ("http", "localhost")
        tally.tried("attack", f"open-redirect {target}", times=3)


# ------------------------------------------------------------------------------------------ sessions
def test_session_cookies_cannot_be_planted_replayed_or_forged(app, client, auth, user_id, tally):
    auth.register()
    with client.session_transaction() as session:  # a session an attacker made the victim's browser carry
        session["planted"] = "by an attacker"
    planted = client.get_cookie("session").value
    auth.login()
    logged_in = client.get_cookie("session").value
    assert logged_in != planted
    attempts = {"planted before login": planted, "captured before logout": logged_in}

    serializer = SecureCookieSessionInterface().get_signing_serializer(_with_key(app, "not the app's key"))
    attempts["signed with another key"] = serializer.dumps(
        {"_user_id": str(user_id("alice")), "_fresh": True}
    )
    attempts["signature altered"] = logged_in[:-2] + ("AA" if not logged_in.endswith("AA") else "BB")
    auth.logout()
    for name, cookie in attempts.items():
        thief = app.test_client()
        thief.set_cookie("session", cookie)
        tally.tried("attack", f"session {name}")
        assert thief.get("/account").status_code == 302, name
        assert thief.post("/assess/scalp").status_code == 302, name
    # Logging in again gives a working session; the old one stays dead.
    auth.login()
    assert client.get("/account").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", logged_in)
    assert replay.get("/account").status_code == 302


def _with_key(app, secret: str) -> Flask:
    forger = Flask("forger")
    forger.config.update(app.config)
    forger.secret_key = secret
    return forger


# --------------------------------------------------------------------------------------------- XSS
XSS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>"]


def test_typed_usernames_are_escaped(client, tally):
    for payload in XSS:
        for url, data in (
            ("/auth/register", {"username": payload, "password": PASSWORD, "confirm": PASSWORD}),
            ("/auth/login", {"username": payload, "password": PASSWORD}),
        ):
            response = client.post(url, data=data)
            tally.tried("attack", f"xss username {url}")
            assert response.status_code in (401, 422)
            html = response.data.decode()
            assert payload.lower() not in html and str(escape(payload.lower())) in html, url


@pytest.fixture
def hostile_models(home, random_bundles):
    """A custom task whose name, labels and display names are markup, as a dataset's folder names could be:
    the random scalp bundle with its card rewritten."""
    task = "spots <img src=x onerror=alert(1)>"
    card_dir = home / "hostile-bundle"
    shutil.copytree(random_bundles["scalp"], card_dir)
    card = json.loads((card_dir / "card.json").read_text())
    card["task"] = card["title"] = task
    card["classes"] = [
        {"label": f"kind{i}<svg onload=alert({i})>", "display_name": f"Kind {i} <script>alert({i})</script>"}
        for i in range(len(card["classes"]))
    ]
    (card_dir / "card.json").write_text(json.dumps(card))
    bundle.publish(card_dir, home / "models", task)
    return task, card["classes"]


def test_markup_from_a_model_card_is_escaped_on_every_page(hostile_models, make_app, tally):
    task, classes = hostile_models
    app = make_app()
    client = app.test_client()
    uploader = new_uploader(client)
    outcomes = [uploader.send("web", ("image", "p.jpg", phantom_jpeg(seed=s)), task=task) for s in (6, 7)]
    assert all(outcome.accepted for outcome in outcomes), outcomes
    assessment_id = outcomes[-1].assessment_id
    pages = {
        "home": client.get("/").text,
        "upload": client.get(f"/assess/{quote(task)}").text,
        "result": client.get(f"/assessments/{assessment_id}").text,
        "history": client.get(f"/history?{urlencode({'task': task})}").text,
    }
    payloads = [task, *(c["label"] for c in classes), *(c["display_name"] for c in classes)]
    for name, html in pages.items():
        tally.tried("attack", f"xss model card on {name}")
        for payload in payloads:
            markup = payload[payload.index("<") :]
            assert markup not in html, (name, markup)
    assert str(escape(task)) in pages["home"] and str(escape(task)) in pages["upload"]
    shown = {c["display_name"] for c in classes if str(escape(c["display_name"])) in pages["result"]}
    assert shown, "the result page shows the display names (escaped)"


# -------------------------------------------------------------------------------------------- tokens
def test_forged_and_misplaced_tokens_are_refused(app, client, tally):
    """Expired and revoked tokens: tests/web/test_api.py. Here every near miss of a real token."""
    alice = new_uploader(client, "alice")
    good = alice.headers["Authorization"].removeprefix("Bearer ")
    forged = {
        "altered": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "truncated": good[:-4],
        "extended": good + "A",
        "its hash": hashlib.sha256(good.encode()).hexdigest(),
        "prefix only": "sct_",
        "all zeros": "sct_" + "0" * 43,
        "sql": "' OR '1'='1",
        "8 KB": "sct_" + "A" * 8_000,
        "non-ascii": "sct_ümlaut",
    }
    for name, token in forged.items():
        response = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {token}"})
        tally.tried("attack", f"token {name}")
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized", name
    misplaced = [
        ("query string", f"/api/v1/assessments?access_token={good}", {}),
        ("other scheme", "/api/v1/assessments", {"Authorization": f"Token {good}"}),
        ("no scheme", "/api/v1/assessments", {"Authorization": good}),
        ("custom header", "/api/v1/assessments", {"X-Api-Token": good}),
    ]
    anonymous = app.test_client()
    for name, url, headers in misplaced:
        tally.tried("attack", f"token {name}")
        assert anonymous.get(url, headers=headers).status_code == 401, name
    # A deleted account's token dies with it.
    assert client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code == 303
    tally.tried("attack", "token of a deleted account")
    assert alice.get("/api/v1/assessments").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


# ------------------------------------------------------------------------------------- SQL injection
SQL = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "admin'--",
    '" OR ""="',
    "1; DROP TABLE users; --",
    "'; DROP TABLE assessments; --",
    "1' UNION SELECT id, username, password_hash FROM users --",
    "%' OR '%'='",
    "'; SELECT pg_sleep(3); --",
    "1) OR (1=1",
]


def test_sql_injection_through_every_field(app, client, user_id, tally):
    alice = new_uploader(client, "alice")
    mine = alice.send("api", ("image", "p.jpg", phantom_jpeg(seed=8))).assessment_id
    before = store_state(app)
    anonymous = app.test_client()
    photo = phantom_jpeg(seed=9)
    for payload in SQL:
        encoded = quote(payload, safe="")
        login, register = "/auth/login", "/auth/register"
        upload = {"image": (io.BytesIO(photo), "p.jpg")}
        checks = [
            ("login username", anonymous.post(login, data={"username": payload, "password": PASSWORD}), 401),
            ("login password", anonymous.post(login, data={"username": "alice", "password": payload}), 401),
            ("register username", anonymous.post(register, data={"username": payload, "password": PASSWORD,
                                                                  "confirm": PASSWORD}), 422),
            ("token username", anonymous.post("/api/v1/tokens", auth=(payload, PASSWORD)), 401),
            ("token password", anonymous.post("/api/v1/tokens", auth=("alice", payload)), 401),
            ("task in path", client.get(f"/assess/{encoded}"), 404),
            ("task in upload", client.post(f"/assess/{encoded}", data=upload), 404),
            ("task in history", client.get("/history?" + urlencode({"task": payload})), 404),
            ("id in path", client.get(f"/assessments/{mine}{encoded}"), 404),
            ("api id in path", alice.get(f"/api/v1/assessments/{mine}{encoded}"), 404),
            ("history page", client.get("/history?" + urlencode({"page": payload})), 200),
        ]  # fmt: skip
        for field, response, status in checks:
            tally.tried("attack", f"sql {field}")
            assert response.status_code == status, (field, payload, response.data[:200])
        sent = alice.send("api", ("image", "p.jpg", photo), task=payload)
        assert (sent.status, sent.code) == (404, "unknown_task"), payload
        listing = alice.get("/api/v1/assessments?" + urlencode({"task": payload}))
        assert listing.status_code == 200 and listing.json["total"] == 0, payload  # not every row
        paging = alice.get("/api/v1/assessments?" + urlencode({"page": payload, "per_page": payload}))
        assert paging.status_code == 400 and paging.json["error"]["code"] == "bad_request", payload
        tally.tried("attack", "sql task in upload")
        tally.tried("attack", "sql list filter and pagination")
    # A password that reads as SQL is just a password.
    sql_password = "' OR '1'='1' --"
    assert AuthActions(anonymous).register("sqlfan", sql_password).status_code == 303
    assert AuthActions(anonymous).login("sqlfan", sql_password).status_code == 303
    assert AuthActions(app.test_client()).login("sqlfan", "' OR '1'='1").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
        assert db.session.get(Assessment, mine) is not None
    assert store_state(app) == before
    tally.checked_storage()
