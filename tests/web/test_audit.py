"""The audit log (scalpcheck.web.audit): what is recorded, that each user reads only their own, that it
goes with the account, and that no route of a user's data is left out of it."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from scalpcheck.web.audit import ROUTES, UNRECORDED
from scalpcheck.web.extensions import db
from scalpcheck.web.models import AuditEntry, User
from tests.helpers.photos import phantom_jpeg
from tests.helpers.web import PASSWORD


@pytest.fixture
def app(random_models, make_app):
    return make_app()


def entries(app, username: str | None) -> list[tuple[str, str | None, str]]:
    """(action, target, channel) of the user's entries, oldest first; None: the entries without a user."""
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username)) if username else None
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.user_id == user_id).order_by(AuditEntry.id)
        ).all()
        return [(r.action, r.target, r.channel) for r in rows]


def upload(client) -> int:
    data = {"image": (io.BytesIO(phantom_jpeg(seed=5)), "p.jpg")}
    response = client.post("/assess/scalp", data=data)
    assert response.status_code == 303
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_logins_views_downloads_and_deletions_are_recorded_with_their_door(app, client, auth):
    auth.register()
    assert auth.login("alice", "wrong-password-1").status_code == 401
    assert auth.login().status_code == 303
    assessment = upload(client)
    client.get(f"/assessments/{assessment}")
    client.get(f"/assessments/{assessment}/image")
    client.get(f"/assessments/{assessment}/thumbnail")  # part of the page that shows it: not an entry
    client.get("/history?task=scalp")
    client.get("/history/scalp/report.pdf")
    token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    client.get(f"/api/v1/assessments/{assessment}", headers=bearer)
    client.get(f"/api/v1/assessments/{assessment}/image", headers=bearer)
    assert client.delete(f"/api/v1/assessments/{assessment}", headers=bearer).status_code == 204
    client.get(f"/api/v1/assessments/{assessment}", headers=bearer)  # 404: nothing to record
    auth.logout()
    assert entries(app, "alice") == [
        ("register", None, "web"),
        ("login_failed", None, "web"),
        ("login", None, "web"),
        ("create", f"assessment {assessment}", "web"),
        ("view", f"assessment {assessment}", "web"),
        ("download", f"photo {assessment}", "web"),
        ("view", "history", "web"),
        ("report", "report scalp", "web"),
        ("token_created", None, "api"),
        ("view", f"assessment {assessment}", "api"),
        ("download", f"photo {assessment}", "api"),
        ("delete", f"assessment {assessment}", "api"),
        ("logout", None, "web"),
    ]
    with app.app_context():
        addresses = set(db.session.scalars(select(AuditEntry.address)).all())
    assert addresses == {"127.0.0.1"}


def test_each_user_reads_only_their_own_entries(app, client, auth):
    auth.signup("alice")
    upload(client)
    auth.logout()
    auth.signup("mallory")
    page = client.get("/account/audit").get_data(as_text=True)
    assert "Photo assessed" not in page and "Logged in" in page
    token = client.post("/api/v1/tokens", auth=("mallory", PASSWORD)).json["token"]
    listed = client.get("/api/v1/audit?per_page=100", headers={"Authorization": f"Bearer {token}"}).json
    assert {item["action"] for item in listed["items"]} == {"register", "login", "token_created", "view"}
    assert listed["total"] == len(listed["items"])
    auth.logout()
    auth.login("alice")
    page = client.get("/account/audit").get_data(as_text=True)
    assert "Photo assessed" in page and "Failed login" not in page


def test_the_entries_go_with_the_account_and_leave_only_a_count(app, client, auth):
    auth.signup("alice")
    upload(client)
    upload(client)
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry)).all()
    assert [(r.user_id, r.action, r.target, r.address, r.channel) for r in rows] == [
        (None, "account_deleted", "1 account, 2 assessments, 0 visits", "", "")
    ]


def test_no_route_of_a_users_data_is_left_out_of_the_log(app):
    """Every route that takes an assessment, a visit or a task, or lists them, is recorded or named."""
    data_routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if {"assessment_id", "visit_id"} & set(rule.arguments)
        or rule.endpoint.startswith(("history.", "visits."))
        or rule.endpoint
        in {
            "api.list_assessments",
            "api.list_visits",
            "api.report",
            "api.create",
            "assess.upload",
            "api.export",
            "account.export_zip",
        }
    }
    assert data_routes, "the URL map has routes of a user's data"
    assert data_routes - set(ROUTES) - UNRECORDED == set()
    assert set(ROUTES) <= {rule.endpoint for rule in app.url_map.iter_rules()}  # no stale names
