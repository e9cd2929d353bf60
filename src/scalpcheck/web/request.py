"""The app's request class: uploaded files stay in memory instead of a temporary file on disk.

Werkzeug spools any upload over 500 kB to a temporary file. Here that only added work: the photo is read back
into memory at once (the decoder and the metadata stripper take bytes), so a 12 MP phone photo was written to
disk and read again on every assessment for nothing. Memory stays bounded: the whole body is capped by
MAX_CONTENT_LENGTH, the photo limit plus the multipart envelope, and is refused with 413 before it is read
when it announces more.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request


class UploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()
