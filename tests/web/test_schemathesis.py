"""The API against its own OpenAPI document, by schemathesis: generated requests (valid and invalid) for
every operation, each answer checked against the document (no server error, a documented status and
content type, a body of the documented schema, invalid input refused). Examples are bounded so the run
stays short."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.helpers.web import PASSWORD, AuthActions

GENEROUS = {"RATELIMIT_API": "100000 per minute", "RATELIMIT_TOKENS": "100000 per minute"}
# Query parameters the document does not name are ignored, as most HTTP APIs do, not refused.
CONFIG = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False}})


@pytest.fixture
def api(random_models, make_app):
    """The API's schema served by a fresh app, and a token of a user with one assessment."""
    app = make_app(**GENEROUS)
    client = app.test_client()
    assert AuthActions(client).register("alice").status_code == 303
    token = client.post("/api/v1/tokens", auth=("alice", PASSWORD)).json["token"]
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG), token


@pytest.fixture
def api_schema(api):
    return api[0]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_keeps_its_documented_contract(case, api):
    _, token = api
    headers = {} if case.path == "/tokens" and case.method == "POST" else {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=headers)
