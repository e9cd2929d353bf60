"""A user's assessments over time: per task, a trend chart, thumbnails and what changed."""

from flask import Blueprint

bp = Blueprint("history", __name__)

from scalpcheck.web.history import routes  # noqa: E402,F401  (registers the views on bp)
