"""The two kinds of failure every caller must handle: bad arguments, and images that are refused."""


class UsageError(Exception):
    """Bad input to a command (missing folder, too few images, ...).

    The command line prints the message as one line and exits with status 2; nothing on disk changes.
    """


class ImageRejected(Exception):
    """An uploaded image that will not be assessed, with the error code and HTTP status of DESIGN.md."""

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

    def __init__(self, code: str, message: str):
        if code not in self.STATUS:
            raise ValueError(f"unknown image error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = self.STATUS[code]
