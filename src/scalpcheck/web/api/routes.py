"""The API's routes; each is described in openapi.py, and a test keeps the two in step."""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from sqlalchemy import select

from scalpcheck.errors import AssessmentError, TaskUnavailable
from scalpcheck.web import audit, twofactor
from scalpcheck.web.api import bp
from scalpcheck.web.api.errors import unauthorized
from scalpcheck.web.api.openapi import openapi_document
from scalpcheck.web.api.paging import page_of
from scalpcheck.web.api.tokens import issue_token, token_required
from scalpcheck.web.auth.forms import PASSWORD_MAX, normalise_username
from scalpcheck.web.auth.passwords import check_password
from scalpcheck.web.errors import error_response
from scalpcheck.web.extensions import db, get_settings, limiter
from scalpcheck.web.models import Assessment, AuditEntry, User
from scalpcheck.web.service import (
    create_assessment,
    delete_assessment,
    owned_assessment,
    pick_upload,
    previous_assessment,
    previous_assessments,
    send_stored_image,
    task_catalog,
    task_named,
)
from scalpcheck.web.trend import describe_change

TOTP_HEADER = "X-TOTP-Code"


@bp.route("/tokens", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_TOKENS"])
def create_token():
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or not auth.password:
        return unauthorized("Send your username and password with HTTP Basic authentication.", scheme="Basic")
    user = db.session.scalar(select(User).where(User.username == normalise_username(auth.username)))
    if len(auth.password) > PASSWORD_MAX or not check_password(user, auth.password):
        if user is not None:
            audit.record("login_failed", user)
        return unauthorized("Wrong username or password.", scheme="Basic")
    if user.totp_secret and not twofactor.check_code(user, request.headers.get(TOTP_HEADER, "")):
        audit.record("second_step_failed", user)
        return unauthorized(
            f"Two-factor sign-in is on: send the code of your authenticator app in {TOTP_HEADER} "
            "(each code works once).",
            scheme="Basic",
        )
    token, row = issue_token(user)
    audit.record("token_created", user)
    return jsonify(token=token, **row.to_dict()), 201


@bp.route("/tokens", methods=["DELETE"])
@token_required
def revoke_token():
    db.session.delete(g.api_token)
    db.session.commit()
    audit.record("token_revoked", g.api_user)
    return "", 204


@bp.route("/audit", methods=["GET"])
@token_required
def audit_log():
    def to_json(rows: list[AuditEntry]) -> list[dict]:
        return [row.to_dict() for row in rows]

    return page_of(AuditEntry, [AuditEntry.user_id == g.api_user.id], "api.audit_log", to_json)


@bp.route("/assessments", methods=["POST"])
@token_required
def create():
    try:
        # The photo first: a request that carries none (raw bytes, JSON, a broken multipart body) is told
        # how to send one, whatever else it lacks.
        data = pick_upload(request.files)
        row = create_assessment(g.api_user, form_task(), data)
    except AssessmentError as exc:
        return error_response(exc.code, exc.message)
    body = assessment_json(row, previous_assessment(row))
    return created(body, url_for("api.get_assessment", assessment_id=row.id))


@bp.route("/assessments", methods=["GET"])
@token_required
def list_assessments():
    def to_json(rows: list[Assessment]) -> list[dict]:
        earlier = previous_assessments(g.api_user, rows)
        return [assessment_json(row, earlier[row.id]) for row in rows]

    return page_of(Assessment, [Assessment.user_id == g.api_user.id], "api.list_assessments", to_json)


@bp.route("/assessments/<int:assessment_id>", methods=["GET"])
@token_required
def get_assessment(assessment_id: int):
    row = owned_assessment(g.api_user, assessment_id)
    return jsonify(assessment_json(row, previous_assessment(row)))


@bp.route("/assessments/<int:assessment_id>", methods=["DELETE"])
@token_required
def delete(assessment_id: int):
    delete_assessment(owned_assessment(g.api_user, assessment_id))
    return "", 204


@bp.route("/assessments/<int:assessment_id>/image", methods=["GET"])
@token_required
def image(assessment_id: int):
    return send_stored_image(owned_assessment(g.api_user, assessment_id), "photo")


@bp.route("/assessments/<int:assessment_id>/heatmap", methods=["GET"])
@token_required
def heatmap(assessment_id: int):
    return send_stored_image(owned_assessment(g.api_user, assessment_id), "overlay")


@bp.route("/tasks", methods=["GET"])
def tasks():
    upload = get_settings().upload_limits.to_dict()
    return jsonify(tasks=[entry.to_dict() for entry in task_catalog().values()], upload=upload)


@bp.route("/openapi.json", methods=["GET"])
def openapi():
    return jsonify(openapi_document())


def assessment_json(row: Assessment, previous: Assessment | None) -> dict:
    """An assessment in the API, with what changed since `previous`."""
    change = describe_change(task_named(row.task), previous, row) if previous is not None else None
    return {
        **row.to_dict(),
        "change": change.to_dict() if change else None,
        "links": {
            "self": url_for("api.get_assessment", assessment_id=row.id),
            "image": url_for("api.image", assessment_id=row.id),
            "heatmap": url_for("api.heatmap", assessment_id=row.id),
        },
    }


def form_task() -> str:
    """The form field `task` of a POST that makes an assessment or a visit (read after its photos)."""
    task = request.form.get("task", "").strip()
    if not task:
        names = ", ".join(sorted(task_catalog()))
        raise TaskUnavailable("unknown_task", f"Send the form field `task`: one of {names}.")
    return task


def created(body: dict, location: str):
    """201 with the JSON of what was made and its Location."""
    return jsonify(body), 201, {"Location": location}
