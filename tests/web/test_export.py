"""The data export (scalpcheck.web.export): a zip of every photo (decrypted), every result as the API gives
it, the reports, the account and its audit log; through the account page and the API alike; only ever the
caller's; sent while it is made, in memory that does not grow with the account."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from scalpcheck.web.export import ROOT
from scalpcheck.web.extensions import db, get_store
from scalpcheck.web.models import Assessment, AuditEntry, User
from tests.helpers.api import bearer
from tests.helpers.photos import phantom_jpeg
from tests.helpers.web import PASSWORD


@pytest.fixture
def app(random_models, make_app):
    return make_app()


def upload(client, task: str = "scalp", seed: int = 5) -> int:
    data = {"image": (io.BytesIO(phantom_jpeg(task, seed=seed)), "p.jpg")}
    response = client.post(f"/assess/{task}", data=data)
    assert response.status_code == 303
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def upload_visit(client) -> int:
    photos = [(io.BytesIO(phantom_jpeg("hairloss", "stage_1", seed=s)), f"{s}.jpg") for s in (7, 8)]
    response = client.post("/visit/hairloss", data={"image": photos, "region": ["crown", "front"]})
    assert response.status_code == 303
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def token(client, username: str = "alice") -> dict:
    return bearer(client.post("/api/v1/tokens", auth=(username, PASSWORD)).json["token"])


def opened(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.data[:300]
    return zipfile.ZipFile(io.BytesIO(response.data))


def stored_images(app, username: str) -> dict[int, tuple[bytes, bytes]]:
    """{assessment id: (photo, overlay)} as the store opens them."""
    with app.app_context():
        store = get_store()
        user = db.session.scalar(select(User).where(User.username == username))
        rows = db.session.scalars(select(Assessment).where(Assessment.user_id == user.id)).all()
        return {
            r.id: (
                store.read(store.photo_path(r.image_key, r.image_type)),
                store.read(store.overlay_path(r.image_key)),
            )
            for r in rows
        }


def test_the_export_holds_every_photo_result_visit_and_report(app, client, auth):
    auth.signup("alice")
    singles = [upload(client, "scalp", 5), upload(client, "scalp", 6)]
    visit = upload_visit(client)
    page = client.get("/account/export")
    assert page.status_code == 200 and b'href="/account/export.zip"' in page.data
    assert b'href="/account/export"' in client.get("/account").data

    response = client.get("/account/export.zip")
    assert response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="scalpcheck-export-')
    assert response.headers["Cache-Control"] == "private, no-store"
    zf = opened(response)
    assert zf.testzip() is None
    names = set(zf.namelist())
    images = stored_images(app, "alice")
    assert len(images) == 4 and set(singles) < set(images)
    bearer_headers = token(client)
    for assessment_id, (photo, overlay) in images.items():
        folder = f"{ROOT}/assessments/{assessment_id}"
        assert zf.read(f"{folder}/photo.jpg") == photo  # decrypted, byte for byte
        assert zf.read(f"{folder}/overlay.jpg") == overlay
        assert zf.getinfo(f"{folder}/photo.jpg").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo(f"{folder}/result.json").compress_type == zipfile.ZIP_DEFLATED
        api = client.get(f"/api/v1/assessments/{assessment_id}", headers=bearer_headers).json
        assert json.loads(zf.read(f"{folder}/result.json")) == api
    api_visit = client.get(f"/api/v1/visits/{visit}", headers=bearer_headers).json
    assert json.loads(zf.read(f"{ROOT}/visits/{visit}.json")) == api_visit
    for task in ("scalp", "hairloss"):
        assert zf.read(f"{ROOT}/reports/{task}.pdf").startswith(b"%PDF-")
    readme = zf.read(f"{ROOT}/README.txt").decode()
    assert "Not a diagnosis." in readme and "Trained on phantoms" in readme  # random models are phantom ones
    account = json.loads(zf.read(f"{ROOT}/account.json"))
    assert account == {
        "username": "alice",
        "created_at": account["created_at"],
        "email": None,
        "two_factor": False,
    }
    audit = json.loads(zf.read(f"{ROOT}/audit-log.json"))
    assert audit[0]["action"] == "register" and [e["id"] for e in audit] == sorted(e["id"] for e in audit)
    assert {f"{ROOT}/{n}" for n in ("README.txt", "account.json", "audit-log.json")} < names
    assert not any("unreadable" in n for n in names)
    everything = b"".join(zf.read(n) for n in names)
    assert b"argon2" not in everything  # no password hash in it

    from_api = client.get("/api/v1/export", headers=bearer_headers)
    assert from_api.is_streamed and from_api.mimetype == "application/zip"
    api_zip = opened(from_api)
    assert set(api_zip.namelist()) == names
    for assessment_id, (photo, _) in images.items():
        assert api_zip.read(f"{ROOT}/assessments/{assessment_id}/photo.jpg") == photo

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.target == "export")).all()
        assert [(r.action, r.channel) for r in rows] == [("download", "web"), ("download", "api")]
    assert "Downloaded" in client.get("/account/audit").get_data(as_text=True)


def test_another_users_export_holds_none_of_alices_data(app, client, auth):
    auth.signup("alice")
    upload(client)
    photos = [photo for photo, _ in stored_images(app, "alice").values()]
    auth.logout()
    auth.signup("mallory")
    headers = token(client, "mallory")
    for url, door in (("/account/export.zip", {}), ("/api/v1/export", headers)):
        response = client.get(url, headers=door)
        zf = opened(response)
        assert not any("/assessments/" in n or "/reports/" in n for n in zf.namelist())
        assert json.loads(zf.read(f"{ROOT}/account.json"))["username"] == "mallory"
        everything = response.data + b"".join(zf.read(n) for n in zf.namelist())
        assert b"alice" not in everything
        assert not any(photo[1000:1100] in everything for photo in photos)
    assert b">0<" in client.get("/account/export").data  # the page counts nothing of alice's


def test_the_export_needs_a_login_or_a_token(app, client, auth):
    for url in ("/account/export", "/account/export.zip"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/api/v1/export").status_code == 401
    auth.signup("alice")
    assert client.get("/api/v1/export").status_code == 401  # a session cookie is no API token


def noise_jpeg(seed: int, side: int = 640) -> bytes:
    """A photo that JPEG cannot shrink much: about 0.37 MB."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def copies(app, template_id: int, count: int) -> int:
    """`count` assessments like `template_id`, each with its own large photo; returns the photos' bytes."""
    total = 0
    with app.app_context():
        store = get_store()
        template = db.session.get(Assessment, template_id)
        columns = {c.key: getattr(template, c.key) for c in Assessment.__table__.columns}
        small = Image.new("RGB", (64, 64))
        for seed in range(count):
            photo = noise_jpeg(seed)
            total += len(photo)
            with store.adding(photo, "image/jpeg", preview=small, overlay=small) as key:
                db.session.add(Assessment(**{**columns, "id": None, "image_key": key}))
                db.session.commit()
    return total


def test_the_export_streams_in_memory_that_does_not_grow_with_the_photos(app, client, auth, tmp_path):
    """60 photos of ~0.37 MB: the zip is sent entry by entry, holding about one photo at a time."""
    auth.signup("alice")
    photos = copies(app, upload(client), 60)
    response = client.get("/account/export.zip")
    assert response.is_streamed
    out = tmp_path / "export.zip"
    tracemalloc.start()
    try:
        with open(out, "wb") as f:
            for chunk in response.response:
                f.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = out.stat().st_size
    assert size > photos  # every photo went through
    # Measured: a peak of 3.0 MB (mostly the report's PDF of 61 entries) against 22 MB of photos.
    assert peak < photos / 5, (peak, photos)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert sum(1 for n in zf.namelist() if n.endswith("/photo.jpg")) == 61


def test_a_gunicorn_worker_sending_an_export_tells_the_arbiter_it_is_alive(app, client, auth, monkeypatch):
    """Without it a download longer than gunicorn's timeout (120 s) would have its worker killed."""
    from scalpcheck import gunicorn_conf
    from scalpcheck.web import export

    beats = []

    class Worker:
        def notify(self):
            beats.append(1)

    monkeypatch.setattr(export, "keep_alive", export.keep_alive)  # put back afterwards
    gunicorn_conf.post_fork(None, Worker())
    auth.signup("alice")
    upload(client)
    zf = opened(client.get("/account/export.zip"))
    assert len(beats) == len(zf.namelist())  # one beat a file


def test_an_image_that_cannot_be_read_is_named_not_sent(app, client, auth):
    """A lost file, or one whose seal does not open, is left out and listed; the zip stays whole."""
    auth.signup("alice")
    lost, altered = upload(client, seed=5), upload(client, seed=6)
    with app.app_context():
        store = get_store()
        rows = {r.id: r for r in db.session.scalars(select(Assessment))}
        store.overlay_path(rows[lost].image_key).unlink()
        photo = store.photo_path(rows[altered].image_key, rows[altered].image_type)
        data = bytearray(photo.read_bytes())
        data[-20] ^= 1
        photo.write_bytes(bytes(data))
    zf = opened(client.get("/api/v1/export", headers=token(client)))
    assert zf.testzip() is None
    names = set(zf.namelist())
    missing = [f"assessments/{lost}/overlay.jpg", f"assessments/{altered}/photo.jpg"]
    assert not {f"{ROOT}/{name}" for name in missing} & names
    assert f"{ROOT}/assessments/{altered}/overlay.jpg" in names
    assert zf.read(f"{ROOT}/unreadable.txt").decode().splitlines()[1:] == missing
