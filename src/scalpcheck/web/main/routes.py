"""Home and /healthz."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from scalpcheck.web.errors import error_response
from scalpcheck.web.extensions import get_assessor
from scalpcheck.web.language import COOKIE, COOKIE_MAX_AGE, LANGUAGES
from scalpcheck.web.main import bp
from scalpcheck.web.service import task_catalog


@bp.route("/")
@login_required
def home():
    return render_template("main/home.html", tasks=task_catalog().values())


@bp.route("/healthz")
def healthz():
    """200 with the loaded models while at least one task can be assessed, else 503 (for load balancers)."""
    loaded = get_assessor().models
    if not loaded:
        return error_response("model_unavailable", "No assessment model is loaded.")
    return jsonify(status="ok", tasks={name: model.card.model_version for name, model in loaded.items()})


@bp.post("/language")
def choose_language():
    """The switcher: remember the reader's choice for a year and go back to the page it was made on."""
    chosen = request.form.get("lang", "")
    back = request.form.get("next", "")
    # Only a path of this site: never an address elsewhere (//host or a scheme).
    target = (
        back
        if back.startswith("/") and not back.startswith("//") and "\\" not in back
        else url_for("main.home")
    )
    response = redirect(target, 303)
    if chosen in LANGUAGES:
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure)
    return response
