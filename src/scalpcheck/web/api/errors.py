"""The API's own error answers; the shape and the codes are the app's (scalpcheck.web.errors)."""

from __future__ import annotations

from flask import Response

from scalpcheck.web.errors import error_response


def unauthorized(message: str, scheme: str = "Bearer") -> Response:
    """401 with the challenge a client needs to know which credentials to send."""
    return error_response(
        "unauthorized", message, headers=[("WWW-Authenticate", f'{scheme} realm="scalpcheck"')]
    )
