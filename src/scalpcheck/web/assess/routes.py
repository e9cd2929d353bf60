"""The upload form, the result page, the stored images and deletion; the owner only, everyone else 404."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from scalpcheck.errors import AssessmentError
from scalpcheck.web.assess import bp
from scalpcheck.web.errors import upload_form_too_large
from scalpcheck.web.request import form_page, made
from scalpcheck.web.service import (
    create_assessment,
    delete_assessment,
    owned_assessment,
    pick_upload,
    previous_assessment,
    send_stored_image,
    task_catalog,
    task_named,
)
from scalpcheck.web.trend import describe_change


@bp.route("/assess/<task>", methods=["GET", "POST"])
@login_required
def upload(task: str):
    if task not in task_catalog():
        abort(404)
    if request.method == "POST":
        try:
            row = create_assessment(current_user, task, pick_upload(request.files))
        except AssessmentError as exc:  # a refused photo or a missing model: the form again, with the reason
            return render_upload(task, error=exc)
        return made(url_for("assess.result", assessment_id=row.id))
    return render_upload(task)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    return upload_form_too_large(exc, "assess.upload", render_upload)


def render_upload(task: str, error: AssessmentError | None = None):
    """The upload page of a known task; with `error`, the reason the last photo was refused."""
    return form_page("assess/upload.html", task, error)


@bp.route("/assessments/<int:assessment_id>")
@login_required
def result(assessment_id: int):
    row = owned_assessment(current_user, assessment_id)
    previous = previous_assessment(row)
    return render_template(
        "assess/result.html",
        assessment=row,
        classes=class_names(row),
        previous=previous,
        change=describe_change(task_named(row.task), previous, row) if previous is not None else None,
    )


def class_names(row) -> list[tuple[str, str, float]]:
    """(label, display name, probability) for every class, in the model's order."""
    task = task_named(row.task)
    return [(label, task.display_name(label), p) for label, p in row.probabilities.items()]


@bp.route("/assessments/<int:assessment_id>/image")
@login_required
def image(assessment_id: int):
    return send_stored_image(owned_assessment(current_user, assessment_id), "photo")


@bp.route("/assessments/<int:assessment_id>/heatmap")
@login_required
def heatmap(assessment_id: int):
    return send_stored_image(owned_assessment(current_user, assessment_id), "overlay")


@bp.route("/assessments/<int:assessment_id>/thumbnail")
@login_required
def thumbnail(assessment_id: int):
    return send_stored_image(owned_assessment(current_user, assessment_id), "thumbnail")


@bp.route("/assessments/<int:assessment_id>/delete", methods=["POST"])
@login_required
def delete(assessment_id: int):
    row = owned_assessment(current_user, assessment_id)
    task = row.task
    delete_assessment(row)
    flash(gettext("The assessment and its photos are deleted."), "success")
    return redirect(url_for("history.index", task=task), 303)
