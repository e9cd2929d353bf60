"""The one table of error codes: every code the serving core raises carries the table's status and kind."""

from __future__ import annotations

import pytest

from scalpcheck.errors import ERRORS, ImageRejected, TaskUnavailable, for_status

IMAGE_CODES = [code for code, entry in ERRORS.items() if entry.kind == "image"]
TASK_CODES = [code for code, entry in ERRORS.items() if entry.kind == "task"]


@pytest.mark.parametrize("code", IMAGE_CODES)
def test_an_image_refusal_takes_its_status_and_message_from_the_table(code):
    refusal = ImageRejected(code)
    assert refusal.status == ERRORS[code].status and refusal.status in (400, 413, 415, 422)
    assert refusal.message == ERRORS[code].message and refusal.message.endswith(".")
    assert refusal.to_dict() == {"error": {"code": code, "message": refusal.message}}


@pytest.mark.parametrize("code", TASK_CODES)
def test_a_task_error_takes_its_status_from_the_table(code):
    assert TaskUnavailable(code, "a specific message").status == ERRORS[code].status


def test_a_code_of_another_kind_or_none_at_all_is_refused():
    with pytest.raises(ValueError, match="not an error code of kind 'image'"):
        ImageRejected("unknown_task")
    with pytest.raises(ValueError, match="not an error code of kind 'task'"):
        TaskUnavailable("image_too_dark")
    with pytest.raises(ValueError):
        ImageRejected("image_too_pretty")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (401, "unauthorized"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (413, "image_too_large"),
        (416, "bad_request"),
        (429, "rate_limited"),
        (500, "internal_error"),
        (501, "internal_error"),
        (503, "service_unavailable"),
    ],
)
def test_every_http_status_maps_to_a_code_of_the_table(status, code):
    assert for_status(status).code == code


def test_the_image_and_task_codes_are_the_documented_ones():
    assert set(IMAGE_CODES) == {
        "missing_image",
        "image_too_large",
        "unsupported_image",
        "not_a_scalp_image",
        "image_too_blurry",
        "image_too_dark",
        "image_too_bright",
        "image_too_small",
    }
    assert {code: ERRORS[code].status for code in TASK_CODES} == {
        "unknown_task": 404,
        "model_unavailable": 503,
    }
