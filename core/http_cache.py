"""Fixed response bodies served with a strong ``ETag`` and ``Cache-Control``, 304 on a match.

For documents that change rarely and are read on every page view of every relying party
(JWKS, provider metadata): the bytes, their ETag and the raw response headers are computed
once when the document changes, so answering costs no serialisation and no hashing.
``If-None-Match`` is compared as RFC 9110 §13.1.2 says (a list of tags, weak comparison,
``*``); a match gets 304 with the same ETag and caching headers (§15.4.5).
"""

from __future__ import annotations

import hashlib

from starlette.background import BackgroundTask
from starlette.responses import Response


class _Prebuilt(Response):
    """A response whose status, raw headers and body were computed in advance."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = raw_headers
        self.body = body
        self.background: BackgroundTask | None = None


class CachedBody:
    """One version of a document: its bytes, strong ETag and prebuilt 200/304 headers."""

    def __init__(
        self,
        body: bytes,
        *,
        media_type: str,
        cache_control: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        common = [
            (b"etag", self.etag.encode()),
            (b"cache-control", cache_control.encode()),
            *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
        ]
        self._ok = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media_type.encode()),
            *common,
        ]
        self._not_modified = common

    def matches(self, if_none_match: str | None) -> bool:
        """Whether ``If-None-Match`` names this version (weak comparison, RFC 9110 §8.8.3.2)."""
        if not if_none_match:
            return False
        if if_none_match.strip() == "*":
            return True
        for tag in if_none_match.split(","):
            tag = tag.strip()
            if tag.startswith("W/"):
                tag = tag[2:]
            if tag == self.etag:
                return True
        return False

    def response(self, if_none_match: str | None) -> Response:
        """200 with the body, or 304 when the client already holds this version."""
        if self.matches(if_none_match):
            return _Prebuilt(304, list(self._not_modified), b"")
        return _Prebuilt(200, list(self._ok), self.body)
