"""The home page (choose an assessment) and the health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from scalpcheck.web.main import routes  # noqa: E402,F401  (registers the views on bp)
