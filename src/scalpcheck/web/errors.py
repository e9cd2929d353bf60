"""Error responses for the whole app: a page for people, DESIGN.md's JSON error for the API and /healthz.

Blueprint error handlers never see a URL that matched no route, so the choice between page and JSON is
made here, from the path.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from scalpcheck.errors import ImageRejected
from scalpcheck.web.api.errors import error_response
from scalpcheck.web.assess.routes import render_upload
from scalpcheck.web.extensions import get_settings, limiter, login_manager
from scalpcheck.web.service import task_catalog

log = logging.getLogger(__name__)

# DESIGN.md's codes for the statuses any route can produce; anything else is named after its status.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "image_too_large",
    429: "rate_limited",
    500: "internal_error",
}

DATABASE_UNAVAILABLE = "The service is briefly unavailable. Please try again in a moment."
RETRY_AFTER_S = 5
FORM_TOO_COMPLEX = "The form has too many fields, or a field that is too long. Please send only the photo."

PAGE_MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    404: "There is nothing here. It may have been deleted, or the link is wrong.",
    405: "That action is not available here.",
    429: "Too many attempts in a short time. Please wait a minute and try again.",
    500: "Something went wrong on our side. Please try again in a moment.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = (
            "This form has expired or did not come from this site. Please reload the page and try again."
        )
        return render_template("errors/error.html", title="Form expired", message=message), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(
        InterfaceError
    )  # a connection that broke under the driver (psycopg: "connection closed")
    def database_unavailable(exc: OperationalError | InterfaceError):
        """The database cannot be reached now (restarting, failing over, a lock held too long): a passing
        state, answered 503 with when to try again, as load balancers and clients expect, not a bug (500).
        Nothing was stored: every change commits or rolls back whole, images included."""
        log.warning("database unavailable, answered 503: %s", exc.orig or exc)
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if wants_json():
            return error_response("service_unavailable", DATABASE_UNAVAILABLE, 503, headers=headers.items())
        # The page's header shows who is logged in; that must not ask the database again. (Flask-Login keeps
        # the request's user in g._login_user.)
        g._login_user = login_manager.anonymous_user()
        page = render_template("errors/error.html", title="Briefly unavailable", message=DATABASE_UNAVAILABLE)
        return page, 503, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 413 and not _body_too_large():
            # Werkzeug's form limits (max_form_parts, max_form_memory_size) raise 413 too: the body is within
            # the size limit, but the form has thousands of parts or a huge text field. No photo is too large.
            if wants_json():
                return error_response("bad_request", FORM_TOO_COMPLEX, 400)
            return render_template("errors/error.html", title="Bad request", message=FORM_TOO_COMPLEX), 400
        if status == 413:
            rejected = ImageRejected(
                "image_too_large",
                f"The upload is larger than the limit of {get_settings().max_upload_mb:g} MB. "
                "Please upload a smaller photo.",
            )
            if wants_json():
                return error_response(rejected.code, rejected.message, 413)
            if request.endpoint == "assess.upload" and request.view_args["task"] in task_catalog():
                return render_upload(request.view_args["task"], error=rejected)
            return render_template("errors/error.html", title="Too large", message=rejected.message), 413
        # Keep headers such as Allow (405); the JSON body brings its own content type.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if status == 429:
            headers.append(("Retry-After", _retry_after()))
        if wants_json():
            code = CODES.get(status, exc.name.lower().replace(" ", "_"))
            return error_response(code, _json_message(exc, status), status, headers=headers)
        message = PAGE_MESSAGES.get(status, exc.description)
        return render_template("errors/error.html", title=exc.name, message=message), status, headers


def _body_too_large() -> bool:
    """Whether the request's body is over MAX_CONTENT_LENGTH (or of unknown length, so cut off by it)."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return request.content_length is None or limit is None or request.content_length > limit


def _retry_after() -> str:
    """Whole seconds until the breached rate limit's window ends (one storage query, on refusals only)."""
    try:
        limit = limiter.current_limit
        # The storage rounds the window's end up to a whole second: never say more than one window.
        seconds = min(limit.reset_at - time.time(), limit.limit.get_expiry()) if limit else RETRY_AFTER_S
    except Exception:  # noqa: BLE001 - the storage is unreachable: a refusal still needs an answer
        seconds = RETRY_AFTER_S
    return str(max(1, math.ceil(seconds)))


def _json_message(exc: HTTPException, status: int) -> str:
    if status == 429:
        return f"Too many requests: the limit is {exc.description}. Wait and try again."
    return {404: "No such resource.", 500: "Internal error."}.get(status, exc.description)
