"""OpenAPI response declarations shared by the routers (``responses=`` of a route or router):
problem documents (RFC 9457), OAuth error bodies (RFC 6749 §5.2, RFC 6750 §3) and binary or
text media types, so the published document says what the service really answers."""

from __future__ import annotations

from typing import Any

from core.errors import PROBLEM_MEDIA_TYPE

Responses = dict[int | str, dict[str, Any]]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "urn:tongxing:problem:<kind>, stable"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
}

OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def problem(description: str) -> dict[str, Any]:
    """A response documented as an ``application/problem+json`` document."""
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}


def oauth_error(description: str) -> dict[str, Any]:
    """A response documented as an OAuth error object (``application/json``)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": OAUTH_ERROR_SCHEMA}},
    }


def media(media_type: str, description: str, *, binary: bool = True) -> dict[str, Any]:
    """A response documented as a body of ``media_type`` (bytes, or text)."""
    schema: dict[str, Any] = {"type": "string"}
    if binary:
        schema["format"] = "binary"
    return {"description": description, "content": {media_type: {"schema": schema}}}


INVALID_REQUEST: Responses = {
    422: problem("The parameters or the body failed validation (kind invalid-request)")
}
"""For every route with parameters or a body (replaces FastAPI's plain-JSON 422)."""

NOT_FOUND: Responses = {404: problem("No such resource")}

BEARER_REFUSED: Responses = {
    401: problem("Missing or invalid access token (WWW-Authenticate: Bearer)"),
    403: problem("The access token lacks the scope (WWW-Authenticate: Bearer)"),
}

UNPARSABLE_BODY: Responses = {400: problem("The body cannot be parsed (e.g. broken multipart)")}

TOO_LARGE: Responses = {413: problem("The request body is larger than allowed")}

UNSUPPORTED_MEDIA_TYPE: Responses = {415: problem("The body is not of the documented media type")}
