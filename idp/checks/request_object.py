"""Rule 3: request objects (``request``, ``request_uri``) are not supported (OIDC Core §6)."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import RequestNotSupported, RequestUriNotSupported


def check(params: Mapping[str, str]) -> None:
    """Refuse request objects with the spec's own error codes."""
    if "request" in params:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in params:
        raise RequestUriNotSupported("request_uri is not supported")
