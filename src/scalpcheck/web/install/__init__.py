"""What makes the site an installable app: the web app manifest, the service worker and its offline page."""

from flask import Blueprint

bp = Blueprint("install", __name__)

from scalpcheck.web.install import routes  # noqa: E402,F401  (registers the views on bp)
