"""The installable app from outside: the manifest, the service worker's script, the offline page, what the
pages and the API announce about uploads, and the responses that end a session clearing the browser's cache.
(tests/web/test_phone.py installs it in a real browser.)"""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from scalpcheck.errors import UsageError
from scalpcheck.settings import load_settings
from tests.helpers.web import AuthActions


def test_the_manifest_has_what_a_home_screen_needs(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["name"] == "scalpcheck" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"]) and manifest["background_color"]
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(client.get(icon["src"]).data))
        assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_the_service_worker_keeps_only_the_app_shell(client, auth):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # a new worker is picked up on the next visit
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", response.text).group(1))
    assert "/offline?lang=en" in shell and all(
        url.startswith(("/offline?lang=", "/static/")) for url in shell
    )
    for url in shell:
        assert client.get(url).status_code == 200
    auth.signup()
    home = client.get("/").text
    assert 'data-service-worker="/sw.js"' in home and 'rel="manifest"' in home


def test_the_offline_page_holds_nothing_of_anyone(client):
    page = client.get("/offline")
    assert page.status_code == 200 and "You are offline" in page.text
    assert "csrf_token" not in page.text and "Log out" not in page.text


@pytest.mark.parametrize("ending", ["logout", "delete"])
def test_ending_a_session_clears_the_browsers_cache_of_the_site(client, auth, ending):
    auth.signup()
    if ending == "logout":
        response = auth.logout()
    else:
        response = client.post("/account/delete", data={"password": auth.password, "confirm": "y"})
    assert response.status_code == 303 and response.headers["Clear-Site-Data"] == '"cache"'


def test_pages_and_the_api_announce_the_upload_size(published_models, make_app, monkeypatch):
    client = make_app().test_client()
    body = client.get("/api/v1/tasks").json
    assert body["upload"] == {"max_bytes": 25 * 2**20, "long_side": 1024}
    auth = AuthActions(client)
    auth.signup()
    assert 'data-resize-to="1024"' in client.get("/assess/scalp").text
    monkeypatch.setenv("UPLOAD_LONG_SIDE", "0")  # resizing off: the browser sends the original
    client = make_app().test_client()
    assert client.get("/api/v1/tasks").json["upload"]["long_side"] == 0
    client.post("/auth/login", data={"username": "alice", "password": auth.password})
    assert "data-resize-to" not in client.get("/assess/scalp").text


@pytest.mark.parametrize("value", ["100", "511", "big", "-5"])
def test_a_long_side_too_small_to_keep_detail_is_a_usage_error(value):
    with pytest.raises(UsageError, match="UPLOAD_LONG_SIDE"):
        load_settings({"UPLOAD_LONG_SIDE": value})


def test_the_long_side_setting():
    assert load_settings({}).upload_long_side == 1024
    assert load_settings({"UPLOAD_LONG_SIDE": "0"}).upload_long_side == 0
    assert load_settings({"UPLOAD_LONG_SIDE": "2048"}).upload_long_side == 2048
