"""Assessing photos through the web pages: results, images, history, deletion, refusals, ownership."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from scalpcheck.serve.explain import FOCUS
from scalpcheck.web.extensions import app_state, db
from scalpcheck.web.models import Assessment
from tests.helpers.photos import phantom, phantom_jpeg

BAD_PHOTO_KINDS = ["blurry", "dark", "bright", "small", "not-a-scalp", "text", "gif", "pixel-bomb"]
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
SERIAL = "SERIAL-0042-ABC"


@pytest.fixture
def app(published_models, make_app):
    """An app that loaded both published test models."""
    return make_app()


def upload(client, data: bytes, task: str = "scalp", filename: str = "photo.jpg"):
    return client.post(
        f"/assess/{task}", data={"image": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def assess(client, data: bytes, task: str = "scalp") -> int:
    response = upload(client, data, task)
    assert response.status_code == 303, response.data[:400]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def jpeg(img: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def test_home_offers_the_loaded_tasks(client, auth):
    auth.signup()
    page = client.get("/").data
    assert b'href="/assess/scalp"' in page and b'href="/assess/hairloss"' in page
    assert b"Demo model, trained on phantoms" in page


def test_upload_page_has_camera_library_and_hint(client, auth):
    auth.signup()
    page = client.get("/assess/hairloss").data.decode()
    assert 'accept="image/*" capture="environment"' in page
    assert 'enctype="multipart/form-data"' in page and 'name="image"' in page
    assert "JPEG, PNG or WebP, up to 25 MB" in page and 'for="image-file"' in page


@pytest.mark.parametrize("task", ["scalp", "hairloss"])
def test_assess_shows_the_whole_result(app, client, auth, task):
    auth.signup()
    # phantoms the tiny test model accepts (trained on 14 a class, it refuses about one new phantom in 9)
    label = {"scalp": "psoriasis", "hairloss": "stage_1"}[task]
    assessment_id = assess(client, phantom_jpeg(task, label, seed=3), task)
    page = client.get(f"/assessments/{assessment_id}")
    assert page.status_code == 200
    html = page.data.decode()
    with app.app_context():
        row = db.session.get(Assessment, assessment_id)
        assert row.task == task and set(row.probabilities) == {
            *app_state(app).assessor.models[task].task.labels
        }
        for display_name in (row.display_name, *(a["display_name"] for a in row.alternatives)):
            assert display_name in html
        assert f"{row.confidence:.0%}" in html
        # hair loss: the density with its interval; the scalp condition has none
        assert (row.reading is not None) == (task == "hairloss")
        if row.reading is not None:
            r = row.reading
            assert f"Hair density <strong>{r.estimate:.0%}</strong>" in html
            assert f"90 % interval {r.low:.0%} to {r.high:.0%}" in html
        else:
            assert "Hair density" not in html
        # The heat map in words: where it is strongest, as measured when the photo was assessed.
        assert row.heat_focus in FOCUS and FOCUS[row.heat_focus] in html
    assert (
        f'src="/assessments/{assessment_id}/heatmap"' in html
        and f'src="/assessments/{assessment_id}/image"' in html
    )
    assert "Demo model." in html  # trained on phantoms, and the page says so
    assert "not a diagnosis" in html.lower()
    assert html.count('class="bar-fill"') == len(row.probabilities)


def test_images_go_to_their_owner_and_into_no_cache(client, auth):
    auth.signup()
    assessment_id = assess(client, phantom_jpeg(seed=4))
    for kind, media_type in (("image", "image/jpeg"), ("heatmap", "image/jpeg"), ("thumbnail", "image/jpeg")):
        response = client.get(f"/assessments/{assessment_id}/{kind}")
        assert response.status_code == 200 and response.mimetype == media_type
        # Not even the browser's own cache: it would show the photo offline, or after logout.
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        Image.open(io.BytesIO(response.data)).verify()


def test_other_users_get_404_for_everything(app, client, auth, stored):
    auth.signup("alice")
    assessment_id = assess(client, phantom_jpeg(seed=5))
    auth.logout()
    auth.signup("mallory")
    for url in (
        f"/assessments/{assessment_id}",
        f"/assessments/{assessment_id}/image",
        f"/assessments/{assessment_id}/heatmap",
        f"/assessments/{assessment_id}/thumbnail",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/assessments/{assessment_id}/delete").status_code == 404
    assert b"No assessments yet" in client.get("/history").data
    assert stored() == (1, 3)  # alice's assessment is untouched
    assert client.get("/assessments/999999").status_code == 404


def test_delete_removes_row_and_files(client, auth, stored):
    auth.signup()
    keep = assess(client, phantom_jpeg(seed=6))
    gone = assess(client, phantom_jpeg(seed=22))
    assert stored() == (2, 6)
    response = client.post(f"/assessments/{gone}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/history?task=scalp"
    assert stored() == (1, 3)
    assert client.get(f"/assessments/{gone}").status_code == 404
    assert client.get(f"/assessments/{keep}").status_code == 200
    assert client.get(f"/assessments/{gone}/delete").status_code == 405


def test_history_shows_chart_thumbnails_and_changes(app, client, auth):
    auth.signup()
    ids = [assess(client, phantom_jpeg("hairloss", f"stage_{s}", seed=10 + s), "hairloss") for s in (0, 2, 4)]
    assess(client, phantom_jpeg("scalp", "healthy", seed=20))
    page = client.get("/history?task=hairloss").data.decode()
    assert '<svg class="chart"' in page and 'role="img"' in page and "3 assessments from" in page
    assert page.count('class="point') == 3
    for assessment_id in ids:
        assert f'src="/assessments/{assessment_id}/thumbnail"' in page
    assert "Your first assessment of this kind." in page
    with app.app_context():
        rows = db.session.scalars(
            select(Assessment).where(Assessment.task == "hairloss").order_by(Assessment.id)
        ).all()
    if rows[1].density is not None:  # the tests' hair-loss model reads density: the change is told by it
        assert f"hair density {rows[0].density:.0%} → {rows[1].density:.0%}" in page
        assert f"density {rows[1].density:.0%} (" in page  # each row's reading, with its interval
    elif rows[1].label != rows[0].label:
        assert (
            f"{rows[0].label.replace('_', ' ').capitalize()} → {rows[1].label.replace('_', ' ').capitalize()}"
            in page
        )
    else:
        assert "Unchanged since" in page
    tabs = client.get("/history").data.decode()
    assert 'href="/history?task=scalp"' in tabs and 'href="/history?task=hairloss"' in tabs
    assert client.get("/history?task=nothing").status_code == 404
    assert client.get("/history?task=hairloss&page=2").status_code == 404


def test_metadata_is_stripped_and_orientation_kept(app, client, auth, stored):
    auth.signup()
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(EXIF_IFD)[0xA431] = SERIAL
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    original = jpeg(phantom(seed=8, size=320).resize((400, 300)), exif=exif, comment=b"Jane Patient")
    assessment_id = assess(client, original)
    photo = client.get(f"/assessments/{assessment_id}/image").data
    for secret in (SERIAL.encode(), b"PhoneMaker", b"Jane Patient"):
        assert secret in original and secret not in photo
    with Image.open(io.BytesIO(photo)) as img:
        exif = img.getexif()
        assert dict(exif) == {0x0112: 6} and not exif.get_ifd(GPS_IFD)
        assert img.size == (400, 300)  # lossless: pixels untouched, orientation recorded
    with app.app_context():
        key = db.session.scalar(select(Assessment.image_key))
    store = app_state(app).store
    assert store.read(store.photo_path(key, "image/jpeg")) == photo


def test_png_upload_is_stored_as_clean_png(client, auth):
    auth.signup()
    buffer = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Patient")
    phantom(seed=9).save(buffer, "PNG", pnginfo=info)
    assessment_id = assess(client, buffer.getvalue())
    response = client.get(f"/assessments/{assessment_id}/image")
    assert response.mimetype == "image/png" and b"Jane Patient" not in response.data


@pytest.mark.parametrize("kind", BAD_PHOTO_KINDS)
def test_refused_photos_show_the_reason_and_store_nothing(client, auth, bad_photo, stored, kind):
    """Each image refusal of docs/errors.md, from a real bad file; nothing may be stored for any of them."""
    auth.signup()
    code, status, data = bad_photo(kind)
    response = upload(client, data)
    assert response.status_code == status
    html = response.data.decode()
    assert "We could not assess that photo." in html and 'name="image"' in html
    assert f'data-error-code="{code}"' in html
    assert stored() == (0, 0)


def test_each_refusal_names_its_own_reason(client, auth, bad_photo):
    """The page text differs per code, so the user learns what to change."""
    auth.signup()
    kinds = ["blurry", "dark", "bright", "small", "text", "pixel-bomb"]
    messages = {kind: upload(client, bad_photo(kind)[2]).data for kind in kinds}
    assert b"blurry" in messages["blurry"] and b"too dark" in messages["dark"]
    assert b"too bright" in messages["bright"] and b"too small" in messages["small"]
    assert b"not a photo we can read" in messages["text"] and b"megapixels" in messages["pixel-bomb"]


def test_missing_photo(client, auth, stored):
    auth.signup()
    response = client.post("/assess/scalp", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and b"No photo was sent" in response.data
    empty = client.post(
        "/assess/scalp", data={"image": (io.BytesIO(b""), "")}, content_type="multipart/form-data"
    )
    assert empty.status_code == 400
    assert stored() == (0, 0)


def test_a_failed_database_write_leaves_no_files(client, auth, stored, monkeypatch):
    auth.signup()

    def failing_commit():
        raise OSError("database is gone")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(OSError, match="database is gone"):
        upload(client, phantom_jpeg(seed=21))
    monkeypatch.undo()
    assert stored() == (0, 0)


def test_too_many_bytes(monkeypatch, make_app, published_models):
    """Over the photo limit: the Assessor refuses it; far over: Werkzeug stops reading. Both 413."""
    monkeypatch.setenv("MAX_UPLOAD_MB", "0.1")
    app = make_app()
    client = app.test_client()
    client.post("/auth/register", data={"username": "alice", "password": "p" * 10, "confirm": "p" * 10})
    client.post("/auth/login", data={"username": "alice", "password": "p" * 10})
    photo = phantom_jpeg(seed=16)
    limit = int(0.1 * 2**20)
    for size in (limit + 10_000, limit + 500_000):
        padded = photo + b"\x00" * (
            size - len(photo)
        )  # bytes after the end of the JPEG are ignored by decoders
        response = upload(client, padded)
        assert response.status_code == 413, size
        assert b"0.1 MB" in response.data
    with app.app_context():
        assert db.session.scalar(select(Assessment)) is None


def test_unknown_task_and_missing_model(make_app):
    app = make_app()  # no models published in this home
    client = app.test_client()
    client.post("/auth/register", data={"username": "alice", "password": "p" * 10, "confirm": "p" * 10})
    client.post("/auth/login", data={"username": "alice", "password": "p" * 10})
    assert client.get("/assess/nonsense").status_code == 404
    assert upload(client, phantom_jpeg(), task="nonsense").status_code == 404
    page = client.get("/assess/scalp")
    assert page.status_code == 503 and b"unavailable" in page.data
    response = upload(client, phantom_jpeg())
    assert response.status_code == 503 and b"not available" in response.data
    home = client.get("/").data
    assert home.count(b"Unavailable: no model is installed") == 2


def test_account_deletion_removes_user_rows_and_files(app, client, auth, stored, user_id):
    auth.signup("alice")
    assess(client, phantom_jpeg(seed=17))
    assess(client, phantom_jpeg("hairloss", "stage_1", seed=18), "hairloss")
    client.post("/api/v1/tokens", auth=("alice", auth.password))
    auth.logout()
    auth.signup("bob")
    assess(client, phantom_jpeg(seed=19))
    auth.logout()
    auth.login("alice")
    assert stored() == (3, 9)
    wrong = client.post("/account/delete", data={"password": "not my password", "confirm": "y"})
    assert wrong.status_code == 422 and b"That is not your password" in wrong.data
    unticked = client.post("/account/delete", data={"password": auth.password})
    assert unticked.status_code == 422 and stored() == (3, 9)
    response = client.post("/account/delete", data={"password": auth.password, "confirm": "y"})
    assert response.status_code == 303 and response.headers["Location"] == "/auth/register"
    assert stored() == (1, 3)  # only bob's
    assert user_id("alice") is None and user_id("bob") is not None
    assert client.get("/").status_code == 302  # logged out
    assert auth.login("alice").status_code == 401
    with app.app_context():
        from scalpcheck.web.models import ApiToken

        assert db.session.scalar(select(ApiToken)) is None


def test_the_pages_script_gets_the_new_result_as_a_location_not_a_redirect(client, auth):
    """app.js's upload is an XMLHttpRequest, which would follow a 303 and fetch the result page only to
    fetch it again: it is told 201 and the Location instead. A form posted by the browser still gets 303."""
    auth.signup()
    photo = phantom_jpeg("scalp", "healthy", seed=51)
    scripted = client.post(
        "/assess/scalp",
        data={"image": (io.BytesIO(photo), "p.jpg")},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert scripted.status_code == 201 and scripted.data == b""
    assert client.get(scripted.headers["Location"]).status_code == 200
    assert upload(client, photo).status_code == 303
    visit = client.post(
        "/visit/scalp",
        data={"image": (io.BytesIO(photo), "p.jpg"), "region": "crown"},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert visit.status_code == 201 and visit.headers["Location"].startswith("/visits/")
