"""Uploads written by hand: multipart bodies byte for byte, and a user who sends them through both doors
of the app (the web form and the API) and reads the answer as an Outcome."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import quote

from PIL import Image

from tests.helpers.web import AuthActions

CHANNELS = ("web", "api")  # the two doors: the upload form (session cookie) and the API (bearer token)
BOUNDARY = "hardening-4a1f9c"


def multipart(*parts: tuple) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data body, byte for byte as given: each part is
    (name, value) or (name, filename, data).

    Written by hand so that filenames can hold what a browser would never send (NUL, quotes, 64 KB).
    """
    chunks = []
    for part in parts:
        name, filename, data = (part[0], None, part[1]) if len(part) == 2 else part
        header = b'Content-Disposition: form-data; name="' + _b(name) + b'"'
        if filename is not None:
            header += b'; filename="' + _b(filename) + b'"\r\nContent-Type: application/octet-stream'
        chunks.append(b"--" + BOUNDARY.encode() + b"\r\n" + header + b"\r\n\r\n" + _b(data) + b"\r\n")
    body = b"".join(chunks) + b"--" + BOUNDARY.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def _b(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str | None  # the error code (docs/errors.md); None for an assessment, or a page that names no code
    assessment_id: int | None
    body: bytes

    @property
    def accepted(self) -> bool:
        return self.assessment_id is not None


class Uploader:
    """One logged-in user who uploads through the web form (session cookie) and the API (bearer token)."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def send(self, channel: str, *parts: tuple, task: str | None = "scalp") -> Outcome:
        """Upload these multipart parts; the API also gets the form field `task`."""
        if channel == "api" and task is not None:
            parts = (*parts, ("task", task))
        return self.send_raw(channel, *multipart(*parts), task=task or "scalp")

    def send_raw(self, channel: str, body: bytes, content_type: str, task: str = "scalp") -> Outcome:
        if channel == "web":
            url = f"/assess/{quote(task, safe='')}"
            response = self.client.post(url, data=body, content_type=content_type)
            if response.status_code == 303:
                assessment_id = int(response.headers["Location"].rsplit("/", 1)[1])
                return Outcome(303, None, assessment_id, response.data)
            found = re.search(rb'data-error-code="([a-z_]+)"', response.data)
            return Outcome(response.status_code, found and found.group(1).decode(), None, response.data)
        response = self.client.post(
            "/api/v1/assessments", data=body, content_type=content_type, headers=self.headers
        )
        if response.status_code == 201:
            return Outcome(201, None, response.json["id"], response.data)
        assert response.mimetype == "application/json", response.data[:300]
        return Outcome(response.status_code, response.json["error"]["code"], None, response.data)

    def get(self, path: str):
        """GET an API path as this user."""
        return self.client.get(path, headers=self.headers)

    def assert_readable(self, assessment_id: int) -> dict:
        """The assessment, its photo and its overlay can be read back, by the page and by the API."""
        assert self.client.get(f"/assessments/{assessment_id}").status_code == 200
        for kind in ("image", "heatmap"):
            response = self.get(f"/api/v1/assessments/{assessment_id}/{kind}")
            assert response.status_code == 200 and response.mimetype in ("image/jpeg", "image/png")
            Image.open(io.BytesIO(response.data)).verify()
        response = self.get(f"/api/v1/assessments/{assessment_id}")
        assert response.status_code == 200
        return response.json


def new_uploader(client, username: str = "alice") -> Uploader:
    """Register `username`, log the client in and get an API token."""
    auth = AuthActions(client)
    auth.signup(username)
    response = client.post("/api/v1/tokens", auth=(username, auth.password))
    assert response.status_code == 201
    return Uploader(client, response.json["token"])
