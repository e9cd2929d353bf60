"""The database going away between a response and the end of its request (a PostgreSQL restart)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from scalpcheck.web.extensions import db


def test_a_connection_killed_after_the_response_does_not_turn_it_into_a_500(database, app, client, auth):
    if database != "postgresql":
        pytest.skip("a server that terminates connections; SQLite is a file")

    @app.get("/test-kill-my-connection")
    def kill_my_connection():
        pid = db.session.execute(text("select pg_backend_pid()")).scalar()
        with db.engine.connect() as other:  # as the server does to every connection when it shuts down
            other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
        return "answered"

    reply = client.get("/test-kill-my-connection")
    assert reply.status_code == 200 and reply.data == b"answered"
    auth.signup()  # the next requests write and read through a fresh connection
