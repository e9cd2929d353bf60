"""GET /api/v1/export: all of the caller's data as a zip (scalpcheck.web.export); described in openapi.py."""

from __future__ import annotations

from flask import g

# The module, not its names: it may be loading still when this is imported (it imports the API's JSON).
from scalpcheck.web import export as data_export
from scalpcheck.web.api import bp
from scalpcheck.web.api.tokens import token_required


@bp.route("/export", methods=["GET"])
@token_required
def export():
    return data_export.export_response(g.api_user)
