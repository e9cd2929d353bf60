"""Home and /healthz."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import login_required

from scalpcheck.web.errors import error_response
from scalpcheck.web.extensions import get_assessor
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
