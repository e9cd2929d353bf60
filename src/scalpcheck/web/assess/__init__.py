"""Upload a photo for an assessment, see the result, fetch its images, delete it."""

from flask import Blueprint

bp = Blueprint("assess", __name__)

from scalpcheck.web.assess import routes  # noqa: E402,F401  (registers the views on bp)
