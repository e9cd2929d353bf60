"""The API's routes; each is described in openapi.py, and a test keeps the two in step."""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from sqlalchemy import func, select

from scalpcheck.errors import AssessmentError, TaskUnavailable
from scalpcheck.web.api import bp
from scalpcheck.web.api.errors import unauthorized
from scalpcheck.web.api.openapi import openapi_document
from scalpcheck.web.api.tokens import issue_token, token_required
from scalpcheck.web.auth.forms import PASSWORD_MAX, normalise_username
from scalpcheck.web.auth.passwords import check_password
from scalpcheck.web.errors import error_response
from scalpcheck.web.extensions import db, limiter
from scalpcheck.web.models import Assessment, User
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


@bp.route("/tokens", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_TOKENS"])
def create_token():
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or not auth.password:
        return unauthorized("Send your username and password with HTTP Basic authentication.", scheme="Basic")
    user = db.session.scalar(select(User).where(User.username == normalise_username(auth.username)))
    if len(auth.password) > PASSWORD_MAX or not check_password(user, auth.password):
        return unauthorized("Wrong username or password.", scheme="Basic")
    token, row = issue_token(user)
    return jsonify(token=token, **row.to_dict()), 201


@bp.route("/tokens", methods=["DELETE"])
@token_required
def revoke_token():
    db.session.delete(g.api_token)
    db.session.commit()
    return "", 204


@bp.route("/assessments", methods=["POST"])
@token_required
def create():
    task = request.form.get("task", "").strip()
    try:
        # The photo first: a request that carries none (raw bytes, JSON, a broken multipart body) is told
        # how to send one, whatever else it lacks.
        data = pick_upload(request.files)
        if not task:
            raise TaskUnavailable("unknown_task", f"Send the form field `task`: one of {_task_names()}.")
        row = create_assessment(g.api_user, task, data)
    except AssessmentError as exc:
        return error_response(exc.code, exc.message)
    return (
        jsonify(_assessment_json(row, previous_assessment(row))),
        201,
        {"Location": url_for("api.get_assessment", assessment_id=row.id)},
    )


@bp.route("/assessments", methods=["GET"])
@token_required
def list_assessments():
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", 20, type=int)
    task = request.args.get("task") or None
    max_per_page = current_app.config["API_PAGE_SIZE_MAX"]
    if page < 1 or not 1 <= per_page <= max_per_page:
        return error_response("bad_request", f"page must be >= 1 and per_page between 1 and {max_per_page}.")
    where = [Assessment.user_id == g.api_user.id] + ([Assessment.task == task] if task else [])
    total = db.session.scalar(select(func.count()).select_from(Assessment).where(*where)) or 0
    offset = (page - 1) * per_page
    # A page past the end is empty; asking the database would overflow its OFFSET for a huge page number.
    rows = (
        db.session.scalars(
            select(Assessment)
            .where(*where)
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            .offset(offset)
            .limit(per_page)
        ).all()
        if offset < total
        else []
    )
    pages = max(1, -(-total // per_page))

    def link(p: int) -> str:
        return url_for("api.list_assessments", page=p, per_page=per_page, task=task)

    earlier = previous_assessments(g.api_user, list(rows))
    return jsonify(
        items=[_assessment_json(row, earlier[row.id]) for row in rows],
        page=page,
        per_page=per_page,
        total=total,
        pages=pages,
        links={
            "self": link(page),
            "first": link(1),
            "last": link(pages),
            "next": link(page + 1) if page < pages else None,
            "prev": link(page - 1) if page > 1 else None,
        },
    )


@bp.route("/assessments/<int:assessment_id>", methods=["GET"])
@token_required
def get_assessment(assessment_id: int):
    row = owned_assessment(g.api_user, assessment_id)
    return jsonify(_assessment_json(row, previous_assessment(row)))


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
    return jsonify(tasks=[entry.to_dict() for entry in task_catalog().values()])


@bp.route("/openapi.json", methods=["GET"])
def openapi():
    return jsonify(openapi_document())


def _assessment_json(row: Assessment, previous: Assessment | None) -> dict:
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


def _task_names() -> str:
    return ", ".join(sorted(task_catalog()))
