"""Error responses for the whole app: a page for people, the JSON error for the API and /healthz.

Codes, statuses and messages come from the one table, scalpcheck.errors.ERRORS. Blueprint error handlers
never see a URL that matched no route, so the choice between page and JSON is made here, from the path;
a blueprint that shows an error its own way (the upload form) registers its own handler.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from scalpcheck.errors import ERRORS, ImageRejected, for_status
from scalpcheck.i18n import N_, Text, text
from scalpcheck.web.extensions import get_settings, limiter, login_manager
from scalpcheck.web.service import task_catalog
from scalpcheck.web.storage import StoreUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
FORM_TOO_COMPLEX = N_(
    "The form has too many fields, or a field that is too long. Please send only the photo."
)
FORM_EXPIRED = N_(
    "This form has expired or did not come from this site. Please reload the page and try again."
)
# The heading of an error page, by error code (the message comes from the table).
TITLES = {
    "bad_request": N_("Bad request"),
    "unauthorized": N_("Please log in"),
    "not_found": N_("Not found"),
    "method_not_allowed": N_("Not available here"),
    "image_too_large": N_("Too large"),
    "rate_limited": N_("Too many attempts"),
    "internal_error": N_("Something went wrong"),
    "service_unavailable": N_("Briefly unavailable"),
}


def error_response(
    code: str, message: str | None = None, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    """{"error": {"code", "message"}} with the code's status; the message defaults to the table's."""
    entry = ERRORS[code]
    response = jsonify({"error": {"code": code, "message": message or entry.message}})
    response.status_code = entry.status
    response.headers.extend(headers)
    return response


def error_page(title: str, message: Text | str, status: int, headers: Iterable[tuple[str, str]] = ()):
    """The error page; the title and the message are translated when shown."""
    return render_template("errors/error.html", title=title, message=message), status, list(headers)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def upload_too_large() -> ImageRejected | None:
    """The refusal of a body over the upload limit; None when a 413 is about the form instead.

    Werkzeug's form limits (max_form_parts, max_form_memory_size) raise 413 too: the body is within the
    size limit, but the form has thousands of parts or a huge text field. No photo is too large then.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and limit is not None and request.content_length <= limit:
        return None
    return ImageRejected(
        "image_too_large",
        text(
            "The upload is larger than the limit of %(limit)s MB. Please upload a smaller photo.",
            limit=get_settings().upload_limits.max_mb,
        ),
    )


def upload_form_too_large(exc: HTTPException, endpoint: str, render: Callable[..., ResponseReturnValue]):
    """A body over the limit posted to the upload form `endpoint` (a view taking `task`): that form again,
    saying so, through `render(task, error=...)`; any other 413 is answered as everywhere else."""
    rejected = upload_too_large()
    task = (request.view_args or {}).get("task")
    if rejected is None or request.endpoint != endpoint or task not in task_catalog():
        return http_error(exc)
    return render(task, error=rejected)


def http_error(exc: HTTPException):
    status = exc.code or 500
    if status == 413:
        rejected = upload_too_large()
        if rejected is None:
            if wants_json():
                return error_response("bad_request", FORM_TOO_COMPLEX)
            return error_page(TITLES["bad_request"], FORM_TOO_COMPLEX, 400)
        if wants_json():
            return error_response(rejected.code, rejected.message)
        return error_page(TITLES["image_too_large"], rejected.text, 413)
    # Keep headers such as Allow (405); the JSON body brings its own content type.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if status == 429:
        headers.append(("Retry-After", _retry_after()))
    entry = for_status(status)
    if wants_json():
        response = error_response(entry.code, _json_message(exc, status), headers=headers)
        response.status_code = status  # an unlisted 4xx keeps its own status under bad_request
        return response
    return error_page(TITLES.get(entry.code, TITLES["bad_request"]), entry.message, status, headers)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_page(N_("Form expired"), FORM_EXPIRED, 400)

    @app.errorhandler(OperationalError)
    @app.errorhandler(
        InterfaceError
    )  # a connection that broke under the driver (psycopg: "connection closed")
    @app.errorhandler(StoreUnavailable)  # the image store's bucket cannot be reached
    def unavailable(exc: OperationalError | InterfaceError | StoreUnavailable):
        """The database or the image store cannot be reached now (restarting, failing over, a lock held
        too long): a passing state, answered 503 with when to try again, as load balancers and clients
        expect, not a bug (500). Nothing was stored: every change commits or rolls back whole, images
        included."""
        log.warning("%s unavailable, answered 503: %s", *_unavailable(exc))
        headers = [("Retry-After", str(RETRY_AFTER_S))]
        if wants_json():
            return error_response("service_unavailable", headers=headers)
        # The page's header shows who is logged in; that must not ask the database again. (Flask-Login keeps
        # the request's user in g._login_user.)
        g._login_user = login_manager.anonymous_user()
        return error_page(TITLES["service_unavailable"], ERRORS["service_unavailable"].message, 503, headers)

    app.register_error_handler(HTTPException, http_error)


def _retry_after() -> str:
    """Whole seconds until the breached rate limit's window ends (one storage query, on refusals only)."""
    try:
        limit = limiter.current_limit
        # The storage rounds the window's end up to a whole second: never say more than one window.
        seconds = min(limit.reset_at - time.time(), limit.limit.get_expiry()) if limit else RETRY_AFTER_S
    except Exception:  # noqa: BLE001 - the storage is unreachable: a refusal still needs an answer
        seconds = RETRY_AFTER_S
    return str(max(1, math.ceil(seconds)))


def _json_message(exc: HTTPException, status: int) -> str | None:
    """What the client is told: the limit for a refusal, Werkzeug's description for an unlisted status."""
    if status == 429:
        return f"Too many requests: the limit is {exc.description}. Wait and try again."
    if status in (404, 500):
        return None  # the table's message: never Werkzeug's text about the server
    return exc.description


def _unavailable(exc: Exception) -> tuple[str, object]:
    if isinstance(exc, StoreUnavailable):
        return "image store", exc
    return "database", getattr(exc, "orig", None) or exc
