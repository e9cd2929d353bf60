"""Attacks on the data export: reading another user's export with their session gone, with another user's
token, a session cookie on the API, a revoked or forged token, anonymously, and with parameters that try to
name whose data it is. None of them gets alice's data; alice's own export still holds all of it."""

from __future__ import annotations

import io
import zipfile

import pytest

from scalpcheck.web.export import ROOT
from tests.helpers.http import new_uploader
from tests.helpers.photos import phantom_jpeg
from tests.helpers.web import AuthActions

pytestmark = pytest.mark.hardening

# Parameters that a careless export might read to choose whose data it is.
NAMING = ["?user=alice", "?user_id=1", "?username=alice", "?id=1", "?as=alice", "?user_id=1&user_id=2"]


def leaks(data: bytes, secrets: list[bytes]) -> bool:
    """Whether the answer, or any file of the zip it is, holds one of alice's secrets."""
    contents = [data]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            contents += [zf.read(name) for name in zf.namelist()]
    return any(secret in content for secret in secrets for content in contents)


def test_nobody_else_reads_alices_export(app, client, tally):
    alice = new_uploader(client, "alice")
    assessment = alice.send("web", ("image", "p.jpg", phantom_jpeg(seed=5))).assessment_id
    photo = alice.get(f"/api/v1/assessments/{assessment}/image").data
    own = zipfile.ZipFile(io.BytesIO(alice.get("/api/v1/export").data))
    assert own.read(f"{ROOT}/assessments/{assessment}/photo.jpg") == photo
    secrets = [photo[2000:2064], b'"username": "alice"', f"assessments/{assessment}/".encode()]
    alice_token = alice.headers
    AuthActions(client).logout()

    mallory = new_uploader(client, "mallory")  # logged in as mallory, with mallory's token
    tries = 0
    for query in ["", *NAMING]:
        for url, headers in (
            (f"/account/export.zip{query}", {}),
            (f"/account/export{query}", {}),
            (f"/api/v1/export{query}", mallory.headers),
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 200 and not leaks(response.data, secrets), url
            tries += 1
    tally.tried("attack", "another user's export, naming its owner", times=tries)

    anonymous = client.application.test_client()
    refused = [
        ("cookie-only API", client, "/api/v1/export", {}),
        ("anonymous page", anonymous, "/account/export.zip", {}),
        ("anonymous API", anonymous, "/api/v1/export", {}),
        ("forged token", anonymous, "/api/v1/export", {"Authorization": "Bearer sct_" + "A" * 43}),
        (
            "token in the query",
            anonymous,
            f"/api/v1/export?access_token={alice_token['Authorization'][7:]}",
            {},
        ),
    ]
    for name, who, url, headers in refused:
        response = who.get(url, headers=headers)
        assert response.status_code in (302, 401) and not leaks(response.data, secrets), name
        tally.tried("attack", f"export: {name}")

    assert client.delete("/api/v1/tokens", headers=alice_token).status_code == 204  # alice revokes hers
    response = anonymous.get("/api/v1/export", headers=alice_token)
    assert response.status_code == 401 and not leaks(response.data, secrets)
    tally.tried("attack", "export with a revoked token")
