"""The JSON API: tokens, assessments, pagination, ownership, error codes, OpenAPI, /healthz."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from scalpcheck.errors import ERRORS
from scalpcheck.web.api.openapi import SCHEMAS
from scalpcheck.web.extensions import db
from scalpcheck.web.models import ApiToken
from tests.helpers.api import assert_error, bearer
from tests.helpers.photos import phantom_jpeg

BAD_PHOTO_KINDS = ["blurry", "dark", "bright", "small", "not-a-scalp", "text", "gif", "pixel-bomb"]


@pytest.fixture
def app(published_models, make_app):
    return make_app()


def post_photo(client, token: str, data: bytes | None, task: str | None = "scalp"):
    form = {}
    if data is not None:
        form["image"] = (io.BytesIO(data), "photo.jpg")
    if task is not None:
        form["task"] = task
    return client.post(
        "/api/v1/assessments", data=form, headers=bearer(token), content_type="multipart/form-data"
    )


def test_tokens_are_issued_for_basic_credentials_and_stored_hashed(app, client, auth):
    auth.register()
    response = client.post("/api/v1/tokens", auth=("Alice", auth.password))
    assert response.status_code == 201 and set(response.json) == {"token", "expires_at"}
    expires = datetime.fromisoformat(response.json["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    with app.app_context():
        stored = db.session.scalar(select(ApiToken.token_hash))
    assert stored == hashlib.sha256(response.json["token"].encode()).hexdigest()
    assert response.json["token"] not in stored


@pytest.mark.parametrize(
    "credentials", [None, ("alice", "wrong password"), ("nobody", "correct horse battery")]
)
def test_tokens_refuse_bad_credentials(client, auth, credentials):
    auth.register()
    response = client.post("/api/v1/tokens", auth=credentials)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_bearer_token_required(client, token):
    good = token()
    assert client.get("/api/v1/assessments", headers=bearer(good)).status_code == 200
    for headers in (
        {},
        bearer("sct_not-a-real-token"),
        {"Authorization": f"Basic {good}"},
        {"Authorization": "Bearer "},
    ):
        response = client.get("/api/v1/assessments", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # a session cookie is no API credential
    assert_error(client.get("/api/v1/assessments"), 401, "unauthorized")


def test_expired_and_revoked_tokens_stop_working(app, client, token):
    expiring, revoked = token("alice"), token("bob")
    with app.app_context():
        db.session.execute(
            update(ApiToken)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            .where(ApiToken.token_hash == hashlib.sha256(expiring.encode()).hexdigest())
        )
        db.session.commit()
    assert_error(client.get("/api/v1/assessments", headers=bearer(expiring)), 401, "unauthorized")
    assert client.delete("/api/v1/tokens", headers=bearer(revoked)).status_code == 204
    assert_error(client.get("/api/v1/assessments", headers=bearer(revoked)), 401, "unauthorized")
    assert_error(client.delete("/api/v1/tokens", headers=bearer(revoked)), 401, "unauthorized")


def test_create_get_list_delete(client, token, stored):
    tok = token()
    created = post_photo(client, tok, phantom_jpeg("hairloss", "stage_3", seed=1), task="hairloss")
    assert created.status_code == 201
    body = created.json
    assert set(body) >= set(SCHEMAS["Assessment"]["required"])  # what the OpenAPI document promises
    assert body["task"] == "hairloss" and body["label"] in body["probabilities"]
    assert body["display_name"] and isinstance(body["low_confidence"], bool)
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-6
    assert body["confidence"] == body["probabilities"][body["label"]]
    assert (
        set(body["model"]) == {"version", "backbone", "synthetic_data"}
        and body["model"]["synthetic_data"] is True
    )
    assert body["advice"]["disclaimer"] and body["advice"]["synthetic_note"]
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert created.headers["Location"] == body["links"]["self"] == f"/api/v1/assessments/{body['id']}"

    fetched = client.get(body["links"]["self"], headers=bearer(tok))
    assert fetched.status_code == 200 and fetched.json == body
    for link, media_type in (
        (body["links"]["image"], "image/jpeg"),
        (body["links"]["heatmap"], "image/jpeg"),
    ):
        image = client.get(link, headers=bearer(tok))
        assert image.status_code == 200 and image.mimetype == media_type
        assert image.headers["Cache-Control"] == "private, no-store"

    assert stored() == (1, 3)
    assert client.delete(body["links"]["self"], headers=bearer(tok)).status_code == 204
    assert stored() == (0, 0)
    assert_error(client.get(body["links"]["self"], headers=bearer(tok)), 404, "not_found")


def test_hair_loss_assessments_carry_density_and_every_assessment_its_change(client, token):
    tok = token()
    first = post_photo(client, tok, phantom_jpeg("hairloss", "stage_1", seed=1), task="hairloss").json
    second = post_photo(client, tok, phantom_jpeg("hairloss", "stage_3", seed=2), task="hairloss").json
    scalp = post_photo(client, tok, phantom_jpeg("scalp", "healthy", seed=22), task="scalp").json
    for body in (first, second):
        reading = body["density"]  # the tests' model learnt density from its phantoms' manifest
        assert set(reading) == {"estimate", "low", "high"}
        assert 0 <= reading["low"] <= reading["estimate"] <= reading["high"] <= 1
    assert first["density"]["estimate"] > second["density"]["estimate"]
    assert "density" not in scalp and scalp["change"] is None and first["change"] is None
    change = second["change"]
    assert set(change) == {"since", "density_delta", "beyond_noise", "smallest_detectable_change", "summary"}
    assert change["since"] == first["id"] and isinstance(change["beyond_noise"], bool) and change["summary"]
    assert change["density_delta"] == pytest.approx(
        second["density"]["estimate"] - first["density"]["estimate"]
    )
    # its training data held no re-shoots: no smallest detectable change, so no change counts as beyond noise
    assert change["smallest_detectable_change"] is None and change["beyond_noise"] is False
    listed = client.get("/api/v1/assessments?task=hairloss", headers=bearer(tok)).json["items"]
    assert [item["change"] for item in listed] == [change, None]
    assert client.get(second["links"]["self"], headers=bearer(tok)).json == second


def test_list_is_paginated_newest_first(client, token):
    tok = token()
    ids = [post_photo(client, tok, phantom_jpeg(seed=20 + i)).json["id"] for i in range(3)]
    first = client.get("/api/v1/assessments?per_page=2", headers=bearer(tok)).json
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 3, 2)
    assert first["links"]["prev"] is None and first["links"]["next"]
    second = client.get(first["links"]["next"], headers=bearer(tok)).json
    assert [item["id"] for item in second["items"]] == ids[:1] and second["links"]["next"] is None
    assert client.get("/api/v1/assessments?task=hairloss", headers=bearer(tok)).json["total"] == 0
    for query in (
        "page=0",
        "per_page=0",
        "per_page=101",
        "per_page=null",
        "page=",
        "page=1.5",
        "page=" + "9" * 30,
    ):
        assert_error(client.get(f"/api/v1/assessments?{query}", headers=bearer(tok)), 400, "bad_request")
    last = client.get(f"/api/v1/assessments?page={2**63 - 1}", headers=bearer(tok))
    assert last.status_code == 200 and last.json["items"] == []  # past the end, never past the database


def test_one_user_never_reaches_anothers_assessments(client, token, stored):
    alice, mallory = token("alice"), token("mallory")
    assessment_id = post_photo(client, alice, phantom_jpeg(seed=30)).json["id"]
    for suffix in ("", "/image", "/heatmap"):
        assert_error(
            client.get(f"/api/v1/assessments/{assessment_id}{suffix}", headers=bearer(mallory)),
            404,
            "not_found",
        )
    assert_error(
        client.delete(f"/api/v1/assessments/{assessment_id}", headers=bearer(mallory)), 404, "not_found"
    )
    assert client.get("/api/v1/assessments", headers=bearer(mallory)).json["total"] == 0
    assert stored() == (1, 3)
    assert client.get(f"/api/v1/assessments/{assessment_id}", headers=bearer(alice)).status_code == 200


@pytest.mark.parametrize("kind", BAD_PHOTO_KINDS)
def test_refusals_are_json_with_their_error_codes_and_store_nothing(client, token, bad_photo, stored, kind):
    tok = token()
    code, status, data = bad_photo(kind)
    assert_error(post_photo(client, tok, data), status, code)
    assert stored() == (0, 0)


def test_missing_image_and_task(client, token, stored):
    tok = token()
    assert_error(post_photo(client, tok, None), 400, "missing_image")
    assert_error(post_photo(client, tok, b""), 415, "unsupported_image")  # a file of zero bytes
    assert_error(post_photo(client, tok, phantom_jpeg(), task=None), 404, "unknown_task")
    assert_error(post_photo(client, tok, phantom_jpeg(), task="eyebrows"), 404, "unknown_task")
    assert stored() == (0, 0)


def test_a_large_upload_is_read_in_memory_without_a_temporary_file(monkeypatch, client, token):
    """Werkzeug spools uploads over 500 kB to disk; the app's request class keeps them in memory."""
    import werkzeug.formparser

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "default_stream_factory", no_temporary_files)
    monkeypatch.setattr("werkzeug.wrappers.request.default_stream_factory", no_temporary_files)
    photo = phantom_jpeg()
    padded = photo + b"\x00" * (2**20 - len(photo))  # bytes after the end-of-image marker are ignored
    response = post_photo(client, token(), padded)
    assert response.status_code == 201, response.data[:300]


def test_too_many_bytes_is_json_413(monkeypatch, published_models, make_app):
    monkeypatch.setenv("MAX_UPLOAD_MB", "0.1")
    client = make_app().test_client()
    client.post("/auth/register", data={"username": "alice", "password": "p" * 10, "confirm": "p" * 10})
    tok = client.post("/api/v1/tokens", auth=("alice", "p" * 10)).json["token"]
    photo = phantom_jpeg()
    for size in (int(0.1 * 2**20) + 10_000, 2**20):  # refused by the Assessor, then by Werkzeug
        assert_error(post_photo(client, tok, photo + b"\x00" * (size - len(photo))), 413, "image_too_large")


def test_model_unavailable_and_tasks_without_models(make_app):
    client = make_app().test_client()
    client.post("/auth/register", data={"username": "alice", "password": "p" * 10, "confirm": "p" * 10})
    tok = client.post("/api/v1/tokens", auth=("alice", "p" * 10)).json["token"]
    assert_error(post_photo(client, tok, phantom_jpeg()), 503, "model_unavailable")
    tasks = client.get("/api/v1/tasks").json["tasks"]
    assert {t["name"]: t["available"] for t in tasks} == {"scalp": False, "hairloss": False}
    assert_error(client.get("/healthz"), 503, "model_unavailable")


def test_tasks_and_healthz_with_models(client):
    tasks = {t["name"]: t for t in client.get("/api/v1/tasks").json["tasks"]}
    assert set(tasks) == {"scalp", "hairloss"}
    for task in tasks.values():
        assert task["available"] and task["classes"] and task["model"]["version"].startswith(task["name"])
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "ok"
    assert set(health.json["tasks"]) == {"scalp", "hairloss"}


def test_api_rate_limits_answer_in_json(make_app):
    client = make_app(RATELIMIT_TOKENS="2 per minute", RATELIMIT_API="3 per minute").test_client()
    statuses = [client.post("/api/v1/tokens", auth=("x", "wrong pass")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    response = client.post("/api/v1/tokens", auth=("x", "wrong pass"))
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60  # the rest of the minute's window
    statuses = [client.get("/api/v1/assessments").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_documents_exactly_the_api_routes(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1") and document["servers"] == [{"url": "/api/v1"}]
    prefix = "/api/v1"
    routes = {
        (_flask_to_openapi(rule.rule.removeprefix(prefix)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert routes == documented
    assert set(
        document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    ) == set(ERRORS)
