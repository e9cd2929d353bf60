"""The API's OpenAPI 3.1 document, written as data (a test checks it covers exactly the routes of the app)."""

from __future__ import annotations

from functools import cache

from scalpcheck import __version__
from scalpcheck.errors import ERRORS
from scalpcheck.web.audit import ACTIONS
from scalpcheck.web.entries import MAX_VISIT_PHOTOS, REGIONS


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages", "links"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
            "links": {
                "type": "object",
                "properties": {
                    name: {"type": ["string", "null"]} for name in ("self", "first", "last", "next", "prev")
                },
            },
        },
    }


def _photo_form(image: dict, **fields: dict) -> dict:
    """A multipart request body of the photo field `image`, `fields`, and the task."""
    task = {"type": "string", "description": "A task name from GET /tasks."}
    schema = {
        "type": "object",
        "required": ["image", "task"],
        "properties": {"image": image, **fields, "task": task},
    }
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


COMMON_ERRORS = {
    "401": _error("No valid bearer token (`unauthorized`)."),
    "429": _error("Too many requests (`rate_limited`); see Retry-After."),
    "503": _error("The database is briefly unreachable (`service_unavailable`); see Retry-After."),
}
PAGE_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    {"name": "task", "in": "query", "schema": {"type": "string"}, "description": "Only this task."},
]


def _not_found(noun: str) -> dict:
    return {"404": _error(f"No such {noun} of yours (`not_found`); another user's reads the same.")}


NOT_FOUND = _not_found("assessment")


def _yours(noun: str, page: str) -> dict:
    """GET of a page of the user's assessments or visits."""
    return {
        "summary": f"Your {noun}s, newest first",
        "parameters": PAGE_PARAMETERS,
        "responses": {
            "200": _json(_ref(page), "One page."),
            "400": _error("Bad page or per_page (`bad_request`)."),
            **COMMON_ERRORS,
        },
    }


def _one_of_yours(noun: str, schema: str, delete_summary: str) -> dict:
    """The path item of one of the user's assessments or visits: its id, GET and DELETE."""
    not_found = _not_found(noun)
    return {
        "parameters": [_id(f"{noun}_id")],
        "get": {
            "summary": f"One of your {noun}s",
            "responses": {"200": _json(_ref(schema), f"The {noun}."), **not_found, **COMMON_ERRORS},
        },
        "delete": {
            "summary": delete_summary,
            "responses": {"204": {"description": "Deleted."}, **not_found, **COMMON_ERRORS},
        },
    }


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": list(ERRORS)},
                    "message": {"type": "string", "description": "A sentence to show to the user."},
                },
            }
        },
    },
    "Token": {
        "type": "object",
        "required": ["token", "expires_at"],
        "properties": {
            "token": {"type": "string", "description": "Send as `Authorization: Bearer <token>`."},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "ModelInfo": {
        "type": "object",
        "required": ["version", "backbone", "synthetic_data"],
        "properties": {
            "version": {"type": "string"},
            "backbone": {"type": "string"},
            "synthetic_data": {
                "type": "boolean",
                "description": "True when the model was trained on synthetic phantoms, not real photos.",
            },
        },
    },
    "Advice": {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "recommendations": {"type": "array", "items": {"type": "string"}},
            "see_a_dermatologist": {"type": "boolean"},
            "low_confidence_message": {"type": ["string", "null"]},
            "disclaimer": {"type": "string"},
            "synthetic_note": {"type": ["string", "null"]},
        },
    },
    "Assessment": {
        "type": "object",
        "required": [
            "id",
            "task",
            "created_at",
            "label",
            "display_name",
            "confidence",
            "probabilities",
            "low_confidence",
            "advice",
            "model",
        ],
        "properties": {
            "id": {"type": "integer"},
            "task": {"type": "string", "examples": ["scalp", "hairloss"]},
            "created_at": {"type": "string", "format": "date-time"},
            "label": {"type": "string"},
            "display_name": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "Calibrated."},
            "probabilities": {"type": "object", "additionalProperties": {"type": "number"}},
            "low_confidence": {"type": "boolean"},
            "alternatives": {
                "type": "array",
                "description": "The next most likely classes, shown with a low-confidence result.",
                "items": {"type": "object"},
            },
            "advice": _ref("Advice"),
            "model": _ref("ModelInfo"),
            "density": {
                "description": "Hair-loss assessments only: hair density as a share of a full head, with its "
                "90 % interval; null when the model has no density measurement.",
                "oneOf": [_ref("Density"), {"type": "null"}],
            },
            "change": {
                "description": "Since the user's previous single-photo assessment of the task; null for the "
                "first, and for a visit's photo (the visit has the change).",
                "oneOf": [_ref("Change"), {"type": "null"}],
            },
            "visit": {"type": ["integer", "null"], "description": "The visit the photo belongs to."},
            "region": {"type": ["string", "null"], "enum": [*REGIONS, None]},
            "links": {
                "type": "object",
                "properties": {
                    "self": {"type": "string"},
                    "image": {"type": "string", "description": "The stored photo, without metadata."},
                    "heatmap": {"type": "string", "description": "The Grad-CAM overlay (JPEG)."},
                },
            },
        },
    },
    "Density": {
        "type": "object",
        "required": ["estimate", "low", "high"],
        "properties": {
            name: {"type": "number", "minimum": 0, "maximum": 1} for name in ("estimate", "low", "high")
        },
    },
    "Change": {
        "type": "object",
        "required": ["since", "density_delta", "beyond_noise", "smallest_detectable_change", "summary"],
        "properties": {
            "since": {"type": "integer", "description": "The id of the earlier assessment."},
            "density_delta": {"type": ["number", "null"], "description": "Later minus earlier density."},
            "beyond_noise": {
                "type": "boolean",
                "description": "True only for a change larger than re-taking the photo gives: a density "
                "change beyond the smallest detectable change, or a change between two confident labels.",
            },
            "smallest_detectable_change": {"type": ["number", "null"]},
            "summary": {"type": "string"},
        },
    },
    "AssessmentPage": _page_of("Assessment"),
    "Visit": {
        "type": "object",
        "required": ["id", "task", "created_at", "assessments", "result", "change"],
        "properties": {
            "id": {"type": "integer"},
            "task": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "assessments": {
                "type": "array",
                "description": "The visit's photos, each an assessment with its `region` (their `change` is "
                "null: a visit is compared as a whole).",
                "items": _ref("Assessment"),
            },
            "result": _ref("VisitResult"),
            "change": {
                "description": "Since the user's previous visit of the task; null for the first.",
                "oneOf": [_ref("Change"), {"type": "null"}],
            },
            "refused": {
                "type": "array",
                "description": "POST only: the photos that were refused, each with its error; the visit "
                "keeps the others.",
                "items": _ref("Refusal"),
            },
            "links": {
                "type": "object",
                "properties": {"self": {"type": "string"}, "report": {"type": "string"}},
            },
        },
    },
    "VisitResult": {
        "type": "object",
        "required": ["label", "display_name", "confidence", "low_confidence", "region", "photos"],
        "properties": {
            "label": {"type": "string", "description": "The most serious finding of the photos."},
            "display_name": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "low_confidence": {"type": "boolean"},
            "region": {
                "type": ["string", "null"],
                "enum": [*REGIONS, None],
                "description": "Where it was seen.",
            },
            "assessment_id": {"type": ["integer", "null"], "description": "The photo it was seen on."},
            "photos": {"type": "integer", "minimum": 1, "maximum": MAX_VISIT_PHOTOS},
            "density": {
                "description": "Hair-loss visits only: the mean of the photos' densities and of their "
                "interval "
                "bounds; null when the model has no density measurement.",
                "oneOf": [_ref("Density"), {"type": "null"}],
            },
            "smallest_detectable_change": {
                "type": ["number", "null"],
                "description": "Of the visit's mean: one photo's SDC over the root of the photos' number.",
            },
        },
    },
    "Refusal": {
        "type": "object",
        "required": ["index", "region", "error"],
        "properties": {
            "index": {"type": "integer", "minimum": 1, "description": "1 for the first photo sent."},
            "region": {"type": ["string", "null"]},
            "error": {"$ref": "#/components/schemas/Error/properties/error"},
        },
    },
    "VisitPage": _page_of("Visit"),
    "AuditEntry": {
        "type": "object",
        "required": ["id", "created_at", "action", "target", "channel", "address"],
        "properties": {
            "id": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "action": {
                "type": "string",
                "description": "One of: " + ", ".join(ACTIONS) + ".",
            },
            "target": {
                "type": ["string", "null"],
                "description": 'What it was done to, e.g. "assessment 12".',
            },
            "channel": {"type": "string", "enum": ["web", "api", "cli"]},
            "address": {
                "type": "string",
                "description": "The client's address (empty from the command line).",
            },
        },
    },
    "AuditPage": _page_of("AuditEntry"),
    "Task": {
        "type": "object",
        "required": ["name", "title", "available", "classes", "model"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "available": {"type": "boolean", "description": "False when no model is installed for the task."},
            "classes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "display_name": {"type": "string"}},
                },
            },
            "model": {"oneOf": [{"type": "object"}, {"type": "null"}]},
        },
    },
}

IMAGE_RESPONSE = {
    "description": "The image; `Cache-Control: private, no-store`.",
    "content": {"image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}}},
}

PATHS = {
    "/tokens": {
        "post": {
            "summary": "Get an API token for your username and password",
            "security": [{"basic": []}],
            "parameters": [
                {
                    "name": "X-TOTP-Code",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Once two-factor sign-in is on: the authenticator app's current code "
                    "(each code works once).",
                }
            ],
            "responses": {
                "201": _json(_ref("Token"), "A new token."),
                "401": _error(
                    "Wrong or missing credentials, or with two-factor sign-in on a missing, wrong or used "
                    "X-TOTP-Code (`unauthorized`)."
                ),
                "429": COMMON_ERRORS["429"],
            },
        },
        "delete": {
            "summary": "Revoke the token sent with this request",
            "responses": {"204": {"description": "Revoked; it no longer works."}, **COMMON_ERRORS},
        },
    },
    "/assessments": {
        "post": {
            "summary": "Assess a photo",
            "requestBody": _photo_form(
                {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": "A JPEG, PNG or WebP photo.",
                }
            ),
            "responses": {
                "201": _json(_ref("Assessment"), "Assessed and stored; Location names it."),
                "400": _error(
                    "No photo in the field `image` (`missing_image`), or a form of thousands of fields "
                    "(`bad_request`)."
                ),
                "404": _error("No such task (`unknown_task`)."),
                "413": _error("The photo has too many bytes or pixels (`image_too_large`)."),
                "415": _error("Not a decodable JPEG, PNG or WebP (`unsupported_image`)."),
                "422": _error(
                    "A photo that cannot be assessed: `not_a_scalp_image`, `image_too_blurry`, "
                    "`image_too_dark`, "
                    "`image_too_bright` or `image_too_small`. Nothing is stored."
                ),
                **COMMON_ERRORS,
                "503": _error(
                    "The task's model is not installed (`model_unavailable`), or the database is briefly "
                    "unreachable (`service_unavailable`, with Retry-After)."
                ),
            },
        },
        "get": _yours("assessment", "AssessmentPage"),
    },
    "/assessments/{assessment_id}": _one_of_yours(
        "assessment", "Assessment", "Delete one of your assessments and its images"
    ),
    "/assessments/{assessment_id}/image": {
        "parameters": [_id("assessment_id")],
        "get": {
            "summary": "The stored photo (JPEG or PNG), upright, without identifying metadata",
            "responses": {
                "200": {
                    "description": "The photo; `Cache-Control: private, no-store`.",
                    "content": {
                        media: {"schema": {"type": "string", "contentMediaType": media}}
                        for media in ("image/jpeg", "image/png")
                    },
                },
                **NOT_FOUND,
                **COMMON_ERRORS,
            },
        },
    },
    "/assessments/{assessment_id}/heatmap": {
        "parameters": [_id("assessment_id")],
        "get": {
            "summary": "The Grad-CAM overlay: where the model looked",
            "responses": {"200": IMAGE_RESPONSE, **NOT_FOUND, **COMMON_ERRORS},
        },
    },
    "/visits": {
        "post": {
            "summary": "Assess a visit: one to four photos of one task taken together",
            "requestBody": _photo_form(
                {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_VISIT_PHOTOS,
                    "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                    "description": "One to four JPEG, PNG or WebP photos (repeat the field).",
                },
                region={
                    "type": "array",
                    "items": {"type": "string", "enum": [*REGIONS, ""]},
                    "description": "Optional: the region of each photo, in the same order.",
                },
            ),
            "responses": {
                "201": _json(
                    _ref("Visit"),
                    "The usable photos assessed and stored as one visit; `refused` "
                    "lists the others. Location names it.",
                ),
                "400": _error(
                    "No photo (`missing_image`); more than four photos, an unknown region or more regions "
                    "than "
                    "photos (`bad_request`)."
                ),
                "404": _error("No such task (`unknown_task`)."),
                "413": _error("The photos together have too many bytes (`image_too_large`)."),
                "415": _error(
                    "No photo could be used, the first not being a JPEG, PNG or WebP (`unsupported_image`)."
                ),
                "422": _error(
                    "No photo could be used; the first one's reason (`not_a_scalp_image`, "
                    "`image_too_blurry`, "
                    "...), the message naming every photo's. Nothing is stored."
                ),
                **COMMON_ERRORS,
                "503": _error(
                    "The task's model is not installed (`model_unavailable`), or `service_unavailable`."
                ),
            },
        },
        "get": _yours("visit", "VisitPage"),
    },
    "/visits/{visit_id}": _one_of_yours(
        "visit", "Visit", "Delete one of your visits, its photos and their images"
    ),
    "/audit": {
        "get": {
            "summary": "Your audit log, newest first: every view, download, report and deletion of your "
            "data, every login and account change",
            "parameters": PAGE_PARAMETERS[:2],
            "responses": {
                "200": _json(_ref("AuditPage"), "One page."),
                "400": _error("Bad page or per_page (`bad_request`)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/export": {
        "get": {
            "summary": "All of your data as one zip: every photo (decrypted) and heat map, every assessment "
            "and visit as JSON, the PDF report of each task, your account and your audit log",
            "responses": {
                "200": {
                    "description": "A zip made while it is sent (no Content-Length), under "
                    "`scalpcheck-export/`: README.txt, account.json, assessments/<id>/ (result.json, "
                    "photo.jpg or photo.png, overlay.jpg), visits/<id>.json, reports/<task>.pdf, "
                    "audit-log.json; `Content-Disposition: attachment`, `Cache-Control: private, "
                    "no-store`.",
                    "content": {
                        "application/zip": {
                            "schema": {"type": "string", "contentMediaType": "application/zip"}
                        }
                    },
                },
                **COMMON_ERRORS,
            },
        }
    },
    "/reports/{task}.pdf": {
        "parameters": [{"name": "task", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {
            "summary": "Your history of one task as a PDF report for a doctor",
            "responses": {
                "200": {
                    "description": "Each visit and assessment with its date, thumbnails, result, density "
                    "with "
                    "its interval and change, the trend chart, the models and the disclaimers.",
                    "content": {
                        "application/pdf": {
                            "schema": {"type": "string", "contentMediaType": "application/pdf"}
                        }
                    },
                },
                "404": _error("No such task (`unknown_task`)."),
                **COMMON_ERRORS,
            },
        },
    },
    "/tasks": {
        "get": {
            "summary": "The tasks, their classes and model versions",
            "security": [],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "tasks": {"type": "array", "items": _ref("Task")},
                            "upload": {
                                "type": "object",
                                "properties": {
                                    "max_bytes": {"type": "integer", "description": "The largest photo."},
                                    "long_side": {
                                        "type": "integer",
                                        "description": "The longest side, in pixels, a client may scale a "
                                        "photo down to before upload without changing its result (0: send "
                                        "the original). Full-size photos are accepted too.",
                                    },
                                },
                            },
                        },
                    },
                    "Every task (`available`: it can be assessed now) and what a photo may be.",
                ),
                "429": COMMON_ERRORS["429"],
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }
    },
}


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scalpcheck API",
            "version": __version__,
            "description": (
                "Scalp condition and hair-loss stage assessments from photos. Not a diagnosis. "
                'Every error is {"error": {"code", "message"}}.'
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
