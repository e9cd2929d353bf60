"""Visits (one to four photos at once), the side-by-side comparison and the doctor's PDF report."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageFilter
from sqlalchemy import func, select

from scalpcheck.web.extensions import db
from scalpcheck.web.models import Visit
from tests.helpers.api import assert_error, bearer
from tests.helpers.photos import jpeg_bytes, phantom, phantom_jpeg
from tests.helpers.web import AuthActions


@pytest.fixture
def app(published_models, make_app):
    return make_app()


def blurry() -> bytes:
    return jpeg_bytes(phantom("hairloss", "stage_1", seed=31).filter(ImageFilter.GaussianBlur(10)))


def post_visit(client, tok: str, photos: list[bytes], regions: list[str] = (), task: str = "hairloss"):
    form = {"task": task, "image": [(io.BytesIO(p), f"photo{i}.jpg") for i, p in enumerate(photos)]}
    if regions:
        form["region"] = list(regions)
    return client.post("/api/v1/visits", data=form, headers=bearer(tok), content_type="multipart/form-data")


def visits_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Visit)) or 0


def test_a_visit_keeps_its_usable_photos_and_says_which_were_refused(app, client, token, stored):
    tok = token()
    photos = [
        phantom_jpeg("hairloss", "stage_1", seed=1),
        blurry(),
        phantom_jpeg("hairloss", "stage_3", seed=2),
    ]
    response = post_visit(client, tok, photos, ["crown", "front", "left"])
    assert response.status_code == 201, response.data[:300]
    visit = response.json
    assert response.headers["Location"].endswith(f"/api/v1/visits/{visit['id']}")
    assert [a["region"] for a in visit["assessments"]] == ["crown", "left"]
    assert all(a["visit"] == visit["id"] and a["change"] is None for a in visit["assessments"])
    assert [r["index"] for r in visit["refused"]] == [2]
    assert visit["refused"][0]["region"] == "front"
    assert visit["refused"][0]["error"]["code"] == "image_too_blurry"
    assert stored() == (2, 6)  # two rows, each with its photo, overlay and thumbnail
    result = visit["result"]
    densities = [a["density"]["estimate"] for a in visit["assessments"]]
    assert result["density"]["estimate"] == pytest.approx(sum(densities) / 2)
    assert result["density"]["low"] <= result["density"]["estimate"] <= result["density"]["high"]
    assert result["photos"] == 2 and visit["change"] is None
    # the most serious finding: the higher of the two stages read, with where it was seen
    labels = {a["region"]: a["label"] for a in visit["assessments"]}
    assert result["label"] == max(labels.values()) and labels[result["region"]] == result["label"]
    assert client.get(visit["links"]["self"], headers=bearer(tok)).json["result"] == result


def test_a_visit_of_only_refused_photos_stores_nothing(app, client, token, stored):
    tok = token()
    response = post_visit(client, tok, [blurry(), b"not a photo at all" * 10], ["crown", "front"])
    assert_error(response, 422, "image_too_blurry")
    assert "Photo 1" in response.json["error"]["message"] and "Photo 2" in response.json["error"]["message"]
    assert stored() == (0, 0) and visits_stored(app) == 0


@pytest.mark.parametrize(
    ("photos", "regions", "status", "code"),
    [
        (0, [], 400, "missing_image"),
        (5, [], 400, "bad_request"),
        (1, ["elbow"], 400, "bad_request"),
        (1, ["crown", "front"], 400, "bad_request"),
    ],
    ids=["no-photo", "five-photos", "unknown-region", "more-regions-than-photos"],
)
def test_a_visit_that_cannot_be_one_is_refused_whole(
    app, client, token, stored, photos, regions, status, code
):
    tok = token()
    images = [phantom_jpeg("hairloss", "stage_1", seed=40 + i) for i in range(photos)]
    assert_error(post_visit(client, tok, images, regions), status, code)
    assert stored() == (0, 0) and visits_stored(app) == 0


def test_visits_list_change_and_delete(app, client, token, stored):
    tok = token()
    first = post_visit(client, tok, [phantom_jpeg("hairloss", "stage_0", seed=3)], ["crown"]).json
    second = post_visit(client, tok, [phantom_jpeg("hairloss", "stage_3", seed=4)], ["crown"]).json
    change = second["change"]
    assert change["since"] == first["id"]
    assert change["density_delta"] == pytest.approx(
        second["result"]["density"]["estimate"] - first["result"]["density"]["estimate"]
    )
    listed = client.get("/api/v1/visits?task=hairloss", headers=bearer(tok)).json
    assert [v["id"] for v in listed["items"]] == [second["id"], first["id"]] and listed["total"] == 2
    assert listed["items"][0]["change"] == change
    assert client.delete(first["links"]["self"], headers=bearer(tok)).status_code == 204
    assert stored() == (1, 3) and visits_stored(app) == 1
    assert client.get(second["links"]["self"], headers=bearer(tok)).json["change"] is None
    # deleting a visit's last photo deletes the visit
    photo = second["assessments"][0]["links"]["self"]
    assert client.delete(photo, headers=bearer(tok)).status_code == 204
    assert stored() == (0, 0) and visits_stored(app) == 0


def test_another_user_cannot_read_delete_compare_or_report_a_visit(app, client, auth, token):
    alice = token("alice")
    visit = post_visit(client, alice, [phantom_jpeg("hairloss", "stage_2", seed=5)], ["crown"]).json
    single = client.post(
        "/api/v1/assessments",
        data={
            "task": "hairloss",
            "image": (io.BytesIO(phantom_jpeg("hairloss", "stage_2", seed=6)), "p.jpg"),
        },
        headers=bearer(alice),
        content_type="multipart/form-data",
    ).json
    bob = token("bob")
    auth.login("bob")
    for method in (client.get, client.delete):
        assert_error(method(visit["links"]["self"], headers=bearer(bob)), 404, "not_found")
    assert client.get("/api/v1/visits", headers=bearer(bob)).json["total"] == 0
    assert client.get(f"/visits/{visit['id']}").status_code == 404
    refs = f"first=v{visit['id']}&second=a{single['id']}"
    assert client.get(f"/history/compare?{refs}").status_code == 404
    text = pdf_text(client.get("/api/v1/reports/hairloss.pdf", headers=bearer(bob)).data)
    assert "no assessments of this kind yet" in text and "alice" not in text
    assert client.get(f"/visits/{visit['id']}/delete").status_code == 405
    auth.logout()
    auth.login("alice")
    assert client.get(f"/history/compare?{refs}").status_code == 200


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run `make poppler` (Debian's poppler-utils)")
    done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())


def test_the_report_opens_and_holds_dates_densities_and_disclaimers(app, client, auth, token, tmp_path: Path):
    tok = token()
    auth.login()
    visit = post_visit(
        client,
        tok,
        [phantom_jpeg("hairloss", "stage_1", seed=7), phantom_jpeg("hairloss", "stage_1", seed=8)],
    ).json
    later = post_visit(client, tok, [phantom_jpeg("hairloss", "stage_3", seed=9)], ["crown"]).json
    response = client.get("/api/v1/reports/hairloss.pdf", headers=bearer(tok))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert client.get("/history/hairloss/report.pdf").data[:4] == b"%PDF"  # the page's link, logged in
    (tmp_path / "report.pdf").write_bytes(response.data)
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: run `make poppler` (Debian's poppler-utils)")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "report.pdf", "page"], cwd=tmp_path, check=True
    )
    page = Image.open(next(tmp_path.glob("page*.png")))
    assert page.width > 300 and len(set(page.convert("L").getdata())) > 20  # drawn, not blank
    text = pdf_text(response.data)
    assert "Not a diagnosis" in text and "Trained on phantoms" in text
    for body in (visit, later):
        reading = body["result"]["density"]
        assert f"{reading['estimate']:.0%} ({reading['low']:.0%} to {reading['high']:.0%})" in text
    for body in (visit, later):
        assert f"{datetime.fromisoformat(body['created_at']):%d %b %Y, %H:%M} UTC" in text
    photos = visit["result"]["photos"]
    assert f"Visit of {photos} photo{'s' if photos != 1 else ''}" in text
    assert later["change"]["summary"].replace("→", "->") in text
    assert_error(client.get("/api/v1/reports/nosuchtask.pdf", headers=bearer(tok)), 404, "unknown_task")


def test_the_visit_form_history_and_comparison_pages(app, client, auth, stored):
    auth.signup()
    form = {
        "image": [
            (io.BytesIO(phantom_jpeg("hairloss", "stage_1", seed=10)), "a.jpg"),
            (io.BytesIO(blurry()), "b.jpg"),
            (io.BytesIO(b""), ""),  # an unused slot
            (io.BytesIO(b""), ""),
        ],
        "region": ["crown", "front", "left", "right"],
    }
    response = client.post("/visit/hairloss", data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Photo 2 was not used" in page and "Crown:" in page and "Hair density" in page
    assert stored()[0] == 1
    refused = client.post(
        "/visit/hairloss",
        data={"image": [(io.BytesIO(blurry()), "b.jpg")], "region": ["crown"]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and 'data-error-code="image_too_blurry"' in refused.get_data(
        as_text=True
    )
    client.post(
        "/visit/hairloss",
        data={
            "image": [(io.BytesIO(phantom_jpeg("hairloss", "stage_3", seed=11)), "c.jpg")],
            "region": ["crown"],
        },
        content_type="multipart/form-data",
    )
    history = client.get("/history?task=hairloss").get_data(as_text=True)
    assert "Visits" in history and 'class="density-band"' in history and "Compare side by side" in history
    with app.app_context():
        ids = db.session.scalars(select(Visit.id).order_by(Visit.id)).all()
    compare = client.get(f"/history/compare?first=v{ids[1]}&second=v{ids[0]}").get_data(as_text=True)
    assert compare.count('class="compare-photo"') == 2 and "Crown:" in compare  # crown next to crown
    assert 'id="compare-change"' in compare and "hair density" in compare
    for bad in ("x1", "v", "v99999999999", "a0"):
        assert client.get(f"/history/compare?first={bad}&second=v{ids[0]}").status_code == 404


def test_the_report_covers_the_latest_entries_and_says_how_many_it_left_out(make_app, published_models):
    client = make_app(REPORT_MAX_ENTRIES=2).test_client()
    auth = AuthActions(client)
    assert auth.register("alice").status_code == 303
    tok = client.post("/api/v1/tokens", auth=("alice", auth.password)).json["token"]
    for seed in (21, 22, 23):
        assert post_visit(client, tok, [phantom_jpeg("hairloss", "stage_1", seed=seed)]).status_code == 201
    text = pdf_text(client.get("/api/v1/reports/hairloss.pdf", headers=bearer(tok)).data)
    assert "2 assessments and visits from" in text and "The latest 2 of 3 assessments and visits." in text
    assert text.count("Visit of 1 photo") == 2  # the table's rows
