"""The web app under test: its test settings, a user's actions through the pages, and a stand-in for an
assessment row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PASSWORD = "correct horse battery"
TEST_CONFIG = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,  # tests that check CSRF turn it back on
    "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
    "ARGON2_PROFILE": "CHEAPEST",  # a real argon2id hash, at test speed
}


class AuthActions:
    """Register, log in and log out through the auth pages with a Flask test client (as in Flask's
    tutorial); every account gets PASSWORD unless told otherwise."""

    password = PASSWORD

    def __init__(self, client):
        self._client = client

    def register(self, username: str = "alice", password: str = PASSWORD, confirm: str | None = None):
        data = {
            "username": username,
            "password": password,
            "confirm": password if confirm is None else confirm,
        }
        return self._client.post("/auth/register", data=data)

    def login(self, username: str = "alice", password: str = PASSWORD, next_page: str | None = None):
        url = "/auth/login" if next_page is None else f"/auth/login?next={next_page}"
        return self._client.post(url, data={"username": username, "password": password})

    def signup(self, username: str = "alice", password: str = PASSWORD):
        """Register and log in; fails the test if either does not work."""
        assert self.register(username, password).status_code == 303
        assert self.login(username, password).status_code == 303

    def logout(self):
        return self._client.post("/auth/logout")


@dataclass
class Row:
    """What the chart and the change description read of an assessment row."""

    task: str
    label: str
    confidence: float
    created_at: datetime
    low_confidence: bool = False
    id: int = 1
    density: float | None = None
    density_sdc: float | None = None
