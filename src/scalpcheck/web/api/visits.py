"""The API's visits (one to four photos taken together) and the doctor's report; described in openapi.py."""

from __future__ import annotations

from flask import g, jsonify, request, url_for

from scalpcheck.errors import AssessmentError
from scalpcheck.web.api import bp
from scalpcheck.web.api.paging import page_of
from scalpcheck.web.api.routes import assessment_json, created, form_task
from scalpcheck.web.api.tokens import token_required
from scalpcheck.web.errors import error_response
from scalpcheck.web.models import Visit
from scalpcheck.web.report import report_response
from scalpcheck.web.service import (
    Refusal,
    create_visit,
    delete_visit,
    owned_visit,
    pick_uploads,
    previous_visit,
    previous_visits,
    task_catalog,
    task_named,
    visit_reading,
)

REGION_FIELD = "region"


@bp.route("/visits", methods=["POST"])
@token_required
def create_visit_():
    try:
        uploads = pick_uploads(request.files, request.form.getlist(REGION_FIELD))
        visit, refusals = create_visit(g.api_user, form_task(), uploads)
    except AssessmentError as exc:
        return error_response(exc.code, exc.message)
    return created(
        visit_json(visit, previous_visit(visit), refusals), url_for("api.get_visit", visit_id=visit.id)
    )


@bp.route("/visits", methods=["GET"])
@token_required
def list_visits():
    def to_json(visits: list[Visit]) -> list[dict]:
        earlier = previous_visits(g.api_user, visits)
        return [visit_json(visit, earlier[visit.id]) for visit in visits]

    return page_of(Visit, [Visit.user_id == g.api_user.id], "api.list_visits", to_json)


@bp.route("/visits/<int:visit_id>", methods=["GET"])
@token_required
def get_visit(visit_id: int):
    visit = owned_visit(g.api_user, visit_id)
    return jsonify(visit_json(visit, previous_visit(visit)))


@bp.route("/visits/<int:visit_id>", methods=["DELETE"])
@token_required
def delete_visit_(visit_id: int):
    delete_visit(owned_visit(g.api_user, visit_id))
    return "", 204


@bp.route("/reports/<task>.pdf", methods=["GET"])
@token_required
def report(task: str):
    if task not in task_catalog():
        return error_response("unknown_task")
    return report_response(g.api_user, task)


def visit_json(visit: Visit, previous: Visit | None, refusals: list[Refusal] | None = None) -> dict:
    """A visit in the API: its photos' assessments, the combined result, and what changed since `previous`."""
    entry, change = visit_reading(visit, previous)
    task = task_named(visit.task)
    body = {
        "id": visit.id,
        "task": visit.task,
        "created_at": visit.created_at.isoformat(timespec="seconds"),
        "assessments": [assessment_json(photo, None) for photo in visit.photos],
        "result": entry.result_dict(task.measures_density or entry.reading is not None),
        "change": change.to_dict() if change else None,
        "links": {
            "self": url_for("api.get_visit", visit_id=visit.id),
            "report": url_for("api.report", task=visit.task),
        },
    }
    if refusals is not None:
        body["refused"] = [r.to_dict() for r in refusals]
    return body
