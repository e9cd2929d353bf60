"""The failures every caller must handle: bad arguments, and assessments that cannot be made."""


class UsageError(Exception):
    """Bad input to a command (missing folder, too few images, ...).

    The command line prints the message as one line and exits with status 2; nothing on disk changes.
    """


class AssessmentError(Exception):
    """An assessment that will not be made, with the error code and HTTP status of DESIGN.md."""

    STATUS: dict[str, int] = {}

    def __init__(self, code: str, message: str):
        if code not in self.STATUS:
            raise ValueError(f"unknown error code {code!r} for {type(self).__name__}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = self.STATUS[code]

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class ImageRejected(AssessmentError):
    """The uploaded file is not an image we can or should assess; nothing of it is stored."""

    STATUS = {
        "missing_image": 400,
        "image_too_large": 413,
        "unsupported_image": 415,
        "not_a_scalp_image": 422,
        "image_too_blurry": 422,
        "image_too_dark": 422,
        "image_too_bright": 422,
        "image_too_small": 422,
    }


class TaskUnavailable(AssessmentError):
    """No such task, or its model is not installed."""

    STATUS = {"unknown_task": 404, "model_unavailable": 503}
