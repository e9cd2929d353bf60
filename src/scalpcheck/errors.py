"""The failures every caller must handle: bad arguments, and the one table of error codes.

Every error the app answers with has a code from ERRORS: its HTTP status and a default message written for
the person who sent the photo. The decoder, the quality gate, the web pages, the JSON API and the OpenAPI
document all read this table (docs/errors.md lists it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scalpcheck.i18n import N_, Text

Kind = Literal["image", "task", "request"]


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    kind: Kind  # image: the photo is refused; task: no such assessment or model; request: anything else
    message: str  # the default message, a sentence a user can act on


NOT_A_SCALP = N_(
    "This photo does not look like a close-up of a scalp, so it cannot be assessed. Please take a photo "
    "looking straight down at the scalp from about 10 cm, with only scalp and hair in the frame."
)

_TABLE = (
    ErrorCode(
        "missing_image", 400, "image", N_("No photo was sent. Choose or take a photo, then upload it.")
    ),
    ErrorCode("image_too_large", 413, "image", N_("The photo is too large. Please upload a smaller photo.")),
    ErrorCode(
        "unsupported_image",
        415,
        "image",
        N_("This file is not a photo we can read. Please upload a JPEG, PNG or WebP photo."),
    ),
    ErrorCode("not_a_scalp_image", 422, "image", NOT_A_SCALP),
    ErrorCode(
        "image_too_blurry",
        422,
        "image",
        N_(
            "The photo is blurry. Hold the phone steady, about 10 cm from the scalp, wait for it to focus, "
            "and take the photo again."
        ),
    ),
    ErrorCode(
        "image_too_dark",
        422,
        "image",
        N_(
            "The photo is too dark. Please take it again in good, even light, for example near a window "
            "in daylight."
        ),
    ),
    ErrorCode(
        "image_too_bright",
        422,
        "image",
        N_(
            "The photo is too bright and washed out. Avoid direct sunlight or a flash aimed at the scalp, "
            "and take the photo again in softer light."
        ),
    ),
    ErrorCode(
        "image_too_small",
        422,
        "image",
        N_("The photo is too small. Please upload a larger photo, taken close to the scalp."),
    ),
    ErrorCode("unknown_task", 404, "task", N_("There is no such assessment.")),
    ErrorCode(
        "model_unavailable",
        503,
        "task",
        N_("This assessment is not available right now. Please try again later."),
    ),
    ErrorCode(
        "rate_limited",
        429,
        "request",
        N_("Too many attempts in a short time. Please wait a minute and try again."),
    ),
    ErrorCode(
        "bad_request",
        400,
        "request",
        N_("The request could not be understood. Please go back and try again."),
    ),
    ErrorCode("unauthorized", 401, "request", N_("Please log in, or send valid credentials.")),
    ErrorCode(
        "not_found",
        404,
        "request",
        N_("There is nothing here. It may have been deleted, or the link is wrong."),
    ),
    ErrorCode("method_not_allowed", 405, "request", N_("That action is not available here.")),
    ErrorCode(
        "service_unavailable",
        503,
        "request",
        N_("The service is briefly unavailable. Please try again in a moment."),
    ),
    ErrorCode(
        "internal_error",
        500,
        "request",
        N_("Something went wrong on our side. Please try again in a moment."),
    ),
)
ERRORS: dict[str, ErrorCode] = {e.code: e for e in _TABLE}

# The code an HTTP error with no code of its own is answered with (a wrong URL, a wrong method, ...).
_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "image_too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def for_status(status: int) -> ErrorCode:
    """The table's entry for an HTTP status; other 4xx are bad requests and other 5xx internal errors."""
    code = _BY_STATUS.get(status) or ("bad_request" if status < 500 else "internal_error")
    return ERRORS[code]


class UsageError(Exception):
    """Bad input to a command (missing folder, too few images, ...).

    The command line prints the message as one line and exits with status 2; nothing on disk changes.
    """


class AssessmentError(Exception):
    """An assessment that will not be made: a code of ERRORS of this class's kind, and a message."""

    KIND: Kind = "request"

    def __init__(self, code: str, message: Text | str | None = None):
        entry = ERRORS.get(code)
        if entry is None or entry.kind != self.KIND:
            raise ValueError(f"{code!r} is not an error code of kind {self.KIND!r}")
        self.code = code
        self.status = entry.status
        # The English (command line, logs) and the Text the web app shows in the reader's language.
        self.text = message if isinstance(message, Text) else Text(message or entry.message)
        self.message = str(self.text)
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class ImageRejected(AssessmentError):
    """The uploaded file is not an image we can or should assess; nothing of it is stored."""

    KIND = "image"


class TaskUnavailable(AssessmentError):
    """No such task, or its model is not installed."""

    KIND = "task"
