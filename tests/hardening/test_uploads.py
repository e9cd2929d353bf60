"""Bad uploads through the web form and the API: an error code of docs/errors.md or a correct result,
nothing stored for a refusal, the app still answering.

The file kinds are in tests/helpers/uploads.py (test_bad_upload runs once per kind); here also the EXIF
orientations, the filenames and the shapes of the multipart form. tests/web and tests/serve hold the first
cases of several of these (the quality refusals, the over-size body, the decode unit tests); this suite puts
every kind through both doors of the running app and counts what is stored.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from PIL import Image

from scalpcheck.errors import ERRORS
from tests.helpers.http import CHANNELS, multipart, new_uploader
from tests.helpers.photos import STORE_AS, phantom, phantom_jpeg
from tests.helpers.storage import assert_consistent, store_state
from tests.helpers.uploads import ACCEPTED, POLYGLOT_PAYLOADS, UPLOADS

pytestmark = pytest.mark.hardening


def expected_on(channel: str, expected: tuple[int, str]) -> tuple[int, str | None]:
    """Pages name only the image error codes (the upload form shows them); the API names every code."""
    status, code = expected
    return status, code if channel == "api" or ERRORS[code].kind == "image" else None


@pytest.fixture
def check(tally):
    """check.refused(...) / check.accepted(...): one upload, its answer, and what it left stored."""
    return UploadCheck(tally)


class UploadCheck:
    def __init__(self, tally):
        self.tally = tally

    def refused(self, app, uploader, channel: str, parts: list, expected: tuple[int, str], name: str) -> None:
        before = store_state(app)
        outcome = uploader.send(channel, *parts)
        self.tally.tried("bad_input", name)
        assert (outcome.status, outcome.code) == expected_on(channel, expected), (
            name,
            channel,
            outcome.body[:300],
        )
        assert store_state(app) == before, f"{name} via {channel} left something stored"
        self.tally.checked_storage()

    def accepted(self, app, uploader, channel: str, parts: list, name: str) -> int:
        before = store_state(app)
        outcome = uploader.send(channel, *parts)
        self.tally.tried("bad_input", name)
        assert outcome.accepted, (name, channel, outcome.status, outcome.code, outcome.body[:300])
        uploader.assert_readable(outcome.assessment_id)
        after = assert_consistent(app)
        assert (after.rows, len(after.files)) == (before.rows + 1, len(before.files) + 3)
        self.tally.checked_storage()
        return outcome.assessment_id


@pytest.mark.parametrize("upload_kind", list(UPLOADS))
def test_bad_upload(upload_kind, app, client, uploader, check):
    expected, make = UPLOADS[upload_kind]
    data = make(phantom(seed=5))
    for channel in CHANNELS:
        parts = [("image", "photo.jpg", data)]
        if expected is ACCEPTED:
            assessment_id = check.accepted(app, uploader, channel, parts, upload_kind)
            payload = POLYGLOT_PAYLOADS.get(upload_kind)
            if payload:
                stored = uploader.get(f"/api/v1/assessments/{assessment_id}/image").data
                assert payload in data and payload not in stored, f"{upload_kind}: the hidden file was kept"
        else:
            check.refused(app, uploader, channel, parts, expected, upload_kind)
    assert client.get("/healthz").status_code == 200


def stored_with_orientation(upright: Image.Image, orientation: int, fmt: str) -> bytes:
    transpose = STORE_AS[orientation]
    img = upright.transpose(transpose) if transpose is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    img.save(buffer, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def test_exif_orientation_never_changes_the_prediction(published_models, make_app, check):
    """Orientations 1 to 8 of one photo, which is not square (a turn the decoder missed would move the
    centre crop the model sees): the trained model gives the same label, and the same probabilities up to
    JPEG's rounding, through both doors."""
    app = make_app()
    uploader = new_uploader(app.test_client())
    upright = phantom("scalp", "alopecia", seed=1, size=320).crop((0, 0, 320, 240))
    # PNG is lossless, so every orientation decodes to the same upright pixels: the same probabilities to
    # float precision, the small ones included (a missed turn changes those by far more). JPEG re-encodes
    # the turned pixels, so its probabilities move a little.
    tolerance = {"PNG": {"rel": 1e-5}, "JPEG": {"abs": 0.05}}
    for fmt in ("PNG", "JPEG"):
        reference = None
        for orientation in STORE_AS:
            data = stored_with_orientation(upright, orientation, fmt)
            for channel in CHANNELS:
                name = f"exif-orientation-{orientation}"
                assessment_id = check.accepted(app, uploader, channel, [("image", "p", data)], name)
                result = uploader.get(f"/api/v1/assessments/{assessment_id}").json
                reference = reference or result
                assert result["label"] == reference["label"], (fmt, orientation, channel)
                expected = pytest.approx(reference["probabilities"], **tolerance[fmt])
                assert result["probabilities"] == expected, (fmt, orientation, channel)


# A filename is never used: photos are stored under a random key. Each must be harmless.
FILENAMES = {
    "filename-path-traversal": "../../../../../../etc/passwd",
    "filename-absolute-path": "/etc/cron.d/evil.jpg",
    "filename-windows-traversal": "..\\..\\..\\windows\\win.ini",
    "filename-nul-byte": "photo\x00.php.jpg",
    "filename-very-long": "a" * 65_536 + ".jpg",
    "filename-html": "<img src=x onerror=alert(1)>.jpg",
    "filename-unicode": "фото головы 😀.jpg",
    "filename-empty": "",
    "filename-dot-dot": "..",
}


@pytest.mark.parametrize("name", FILENAMES)
def test_filenames_are_never_used(name, app, home, uploader, check):
    filename = FILENAMES[name]

    def outside_uploads() -> set[str]:
        return {
            str(p.relative_to(home))
            for p in home.rglob("*")
            if p.is_file()
            and "uploads" not in p.relative_to(home).parts[:1]
            and not p.name.startswith("scalpcheck.db")
        }

    before = outside_uploads()
    for channel in CHANNELS:
        assessment_id = check.accepted(
            app, uploader, channel, [("image", filename, phantom_jpeg(seed=9))], name
        )
        page = uploader.client.get(f"/assessments/{assessment_id}").data
        if len(filename) > 3:  # never echoed (a short one such as ".." may occur in any page)
            assert filename.encode() not in page
    assert outside_uploads() == before
    assert {path.rsplit("/", 1)[1] for path in store_state(app).files} == {
        "photo.jpg",
        "overlay.jpg",
        "thumbnail.jpg",
    }


def test_a_line_break_in_the_filename_breaks_only_that_part(app, uploader, check):
    """CR LF ends the part's headers early; the photo is then not a file field, which is said plainly."""
    parts = [("image", "a.jpg\r\nContent-Type: text/html", phantom_jpeg(seed=10))]
    for channel in CHANNELS:
        check.refused(app, uploader, channel, parts, (400, "missing_image"), "filename-crlf")


def _form_cases(photo: bytes) -> dict[str, tuple[tuple[int, str] | None, bytes, str]]:
    """name -> (expected or None for accepted, body, content type); the API's body also names the task."""
    task = [("task", "scalp")]

    def form(*parts) -> tuple[bytes, str]:
        return multipart(*parts, *task)

    missing = (400, "missing_image")
    too_many = [(f"field{i}", "x") for i in range(2_000)]
    return {
        "field-missing": (missing, *form()),
        "field-misnamed": (missing, *form(("photo", "photo.jpg", photo))),
        "field-empty-file": (missing, *form(("image", "", b""))),
        "field-as-plain-text": (missing, *form(("image", photo))),
        "form-urlencoded": (
            missing,
            urlencode({"image": photo, "task": "scalp"}).encode(),
            "application/x-www-form-urlencoded",
        ),
        "form-json": (missing, b'{"image": "", "task": "scalp"}', "application/json"),
        "raw-jpeg-body": (missing, photo, "image/jpeg"),
        "multipart-without-boundary": (missing, form(("image", "p.jpg", photo))[0], "multipart/form-data"),
        "multipart-unterminated": (
            missing,
            form(("image", "p.jpg", photo))[0][:-200],
            form()[1],
        ),
        "multipart-2000-fields": ((400, "bad_request"), *form(*too_many, ("image", "p.jpg", photo))),
        "multipart-1mb-text-field": (
            (400, "bad_request"),
            *form(("note", "x" * 2**20), ("image", "p.jpg", photo)),
        ),
        "two-files-first-empty": (None, *form(("image", "", b""), ("image", "p.jpg", photo))),
    }


def test_malformed_forms(app, uploader, tally):
    photo = phantom_jpeg(seed=12)
    for name, (expected, body, content_type) in _form_cases(photo).items():
        for channel in CHANNELS:
            before = store_state(app)
            outcome = uploader.send_raw(channel, body, content_type)
            tally.tried("bad_input", name)
            if expected is None:
                assert outcome.accepted, (name, channel, outcome)
                assert assert_consistent(app).rows == before.rows + 1
            else:
                assert (outcome.status, outcome.code) == expected_on(channel, expected), (
                    name,
                    channel,
                    outcome.body[:300],
                )
                assert store_state(app) == before, name
            tally.checked_storage()


def test_over_size_bodies(monkeypatch, random_models, make_app, check):
    """Over the photo limit (the decoder refuses it) and far over it (Werkzeug stops reading): 413 both.

    tests/web checks the same two sizes per door; here they are counted with everything stored.
    """
    monkeypatch.setenv("MAX_UPLOAD_MB", "0.2")
    app = make_app()
    uploader = new_uploader(app.test_client())
    photo = phantom_jpeg(seed=13)
    for size in (int(0.2 * 2**20) + 1_000, 3 * 2**20):
        padded = photo + b"\0" * (size - len(photo))  # decoders ignore what follows the end of a JPEG
        name = "over-size-photo" if size < 2**20 else "over-size-body"
        for channel in CHANNELS:
            check.refused(
                app, uploader, channel, [("image", "p.jpg", padded)], (413, "image_too_large"), name
            )
