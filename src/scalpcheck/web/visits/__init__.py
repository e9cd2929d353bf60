"""Visits: one to four photos of one task taken together (each of a region), combined into one result."""

from flask import Blueprint

bp = Blueprint("visits", __name__)

from scalpcheck.web.visits import routes  # noqa: E402,F401  (registers the views on bp)
