"""The app's request class (uploaded files stay in memory instead of a temporary file on disk), and how a
form is answered (form_page and made for the upload forms, filled_in for the others).

Werkzeug spools any upload over 500 kB to a temporary file. Here that only added work: the photo is read back
into memory at once (the decoder and the metadata stripper take bytes), so a 12 MP phone photo was written to
disk and read again on every assessment for nothing. Memory stays bounded: the whole body is capped by
MAX_CONTENT_LENGTH, the photo limit plus the multipart envelope, and is refused with 413 before it is read
when it announces more.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request, Response, redirect, render_template, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from scalpcheck.errors import AssessmentError
from scalpcheck.web.service import task_catalog


class UploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


SCRIPT_HEADER = ("X-Requested-With", "XMLHttpRequest")


def form_page(template: str, task: str, error: AssessmentError | None = None, **context) -> tuple[str, int]:
    """The upload form `template` of a known task, with the status of `error` (the last photo's refusal),
    else 503 while the task has no model."""
    info = task_catalog()[task]
    status = error.status if error is not None else (200 if info.available else 503)
    return render_template(template, task=info, error=error, **context), status


def filled_in(template: str, form: FlaskForm, **context) -> tuple[str, int]:
    """The page `template` of `form`: 422 when it comes back refused, 200 when it is first shown."""
    return render_template(template, form=form, **context), 422 if form.is_submitted() else 200


def made(location: str) -> BaseResponse:
    """The answer to an upload form that made an assessment or a visit at `location`.

    A browser's own form post gets 303 to it. app.js's upload (which sends SCRIPT_HEADER) gets 201 with the
    Location and no body: an XMLHttpRequest follows a 303 by itself, and the page it fetched so would be
    fetched and rendered a second time when the script then goes there.
    """
    if request.headers.get(SCRIPT_HEADER[0]) == SCRIPT_HEADER[1]:
        return Response(status=201, headers={"Location": location})
    return redirect(location, 303)
