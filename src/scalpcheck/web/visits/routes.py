"""The visit form, the visit's page and its deletion; the owner only, everyone else 404."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from scalpcheck.errors import AssessmentError
from scalpcheck.web.entries import MAX_VISIT_PHOTOS, REGIONS
from scalpcheck.web.errors import upload_form_too_large
from scalpcheck.web.language import localize
from scalpcheck.web.request import form_page, made
from scalpcheck.web.service import (
    create_visit,
    delete_visit,
    owned_visit,
    pick_uploads,
    previous_visit,
    task_catalog,
    visit_reading,
)
from scalpcheck.web.visits import bp


@bp.route("/visit/<task>", methods=["GET", "POST"])
@login_required
def new(task: str):
    if task not in task_catalog():
        abort(404)
    if request.method == "POST":
        try:
            uploads = pick_uploads(request.files, request.form.getlist("region"))
            visit, refusals = create_visit(current_user, task, uploads)
        except AssessmentError as exc:  # nothing usable: the form again, with each photo's reason
            return render_form(task, error=exc)
        for refusal in refusals:
            reason = localize(refusal.text)
            flash(
                gettext("Photo %(index)s was not used: %(reason)s", index=refusal.index, reason=reason),
                "warning",
            )
        return made(url_for("visits.show", visit_id=visit.id))
    return render_form(task)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    return upload_form_too_large(exc, "visits.new", render_form)


def render_form(task: str, error: AssessmentError | None = None):
    return form_page("visits/new.html", task, error, regions=REGIONS, slots=MAX_VISIT_PHOTOS)


@bp.route("/visits/<int:visit_id>")
@login_required
def show(visit_id: int):
    visit = owned_visit(current_user, visit_id)
    previous = previous_visit(visit)
    entry, change = visit_reading(visit, previous)
    return render_template("visits/show.html", visit=visit, entry=entry, previous=previous, change=change)


@bp.route("/visits/<int:visit_id>/delete", methods=["POST"])
@login_required
def delete(visit_id: int):
    visit = owned_visit(current_user, visit_id)
    task = visit.task
    delete_visit(visit)
    flash(gettext("The visit and its photos are deleted."), "success")
    return redirect(url_for("history.index", task=task), 303)
