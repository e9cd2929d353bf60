"""The API's one error shape: {"error": {"code", "message"}} (DESIGN.md), from one helper."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, jsonify

from scalpcheck.errors import AssessmentError


def error_response(code: str, message: str, status: int, headers: Iterable[tuple[str, str]] = ()) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.extend(headers)
    return response


def assessment_error_response(exc: AssessmentError) -> Response:
    return error_response(exc.code, exc.message, exc.status)


def unauthorized(message: str, scheme: str = "Bearer") -> Response:
    """401 with the challenge a client needs to know which credentials to send."""
    return error_response(
        "unauthorized", message, 401, headers=[("WWW-Authenticate", f'{scheme} realm="scalpcheck"')]
    )
