"""The JSON API under /api/v1 (docs/http-api.md): bearer tokens, no cookies, so no CSRF; one error shape."""

from flask import Blueprint, current_app

from scalpcheck.web.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
limiter.limit(lambda: current_app.config["RATELIMIT_API"])(bp)

from scalpcheck.web.api import export, routes, visits  # noqa: E402,F401  (register the views on bp)
