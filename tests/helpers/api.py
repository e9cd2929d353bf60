"""The JSON API as the tests call it: the bearer header and the checks of an error answer."""

from __future__ import annotations


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"} and set(response.json["error"]) == {"code", "message"}
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
