"""The JWKS document (RFC 7517 §5) as response bytes, recomputed per key change, not per request.

Freshness bound: a process serves the key set it read at most ``REFRESH_SECONDS`` (5 s, the
same as ``token_keys.ACTIVE_KEY_CACHE_SECONDS``) ago; a rotation in this process is served at
once (``KeyCustody.generation``), one in another process within 5 s. That is safe because
rotation publishes a key ``PUBLISH_AHEAD`` (300 s) before it signs (``token_keys.rotate``),
and a retired key stays published for the retention period, far longer than 5 s. Only a
forced rotation of a next key younger than 5 s can sign a token that a relying party fetching
our JWKS from a lagging process cannot verify yet, and only for those 5 s: forcing already
waives the publication guarantee.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

from core.database import Database
from core.http_cache import CachedBody
from keys import token_keys
from keys.custody import KeyCustody

REFRESH_SECONDS = token_keys.ACTIVE_KEY_CACHE_SECONDS
MEDIA_TYPE = "application/jwk-set+json"
# Relying parties may cache the set as long as a next key is published before it signs.
CACHE_CONTROL = f"public, max-age={int(token_keys.PUBLISH_AHEAD.total_seconds())}"


class PublishedKeySet:
    """The current JWKS response of this process; :meth:`current` is free while fresh."""

    def __init__(self, *, custody: KeyCustody, database: Database, retention: timedelta) -> None:
        self.custody = custody
        self.database = database
        self.retention = retention
        self.seconds = REFRESH_SECONDS
        self._document: CachedBody | None = None
        self._read_at = 0.0
        self._generation = -1
        self._lock = threading.Lock()

    def fresh(self) -> CachedBody | None:
        """The document if it is still within the bound (no database access), else None."""
        document = self._document
        if (
            document is None
            or self._generation != self.custody.generation
            or time.monotonic() - self._read_at >= self.seconds
        ):
            return None
        return document

    def current(self) -> CachedBody:
        """The document, read again from the database when stale (blocking: call from a thread)."""
        with self._lock:  # one reader at a time; the others then find it fresh
            document = self.fresh()
            if document is not None:
                return document
            generation, read_at = self.custody.generation, time.monotonic()
            with self.database.reading() as session:
                rows = token_keys.published(session, retention=self.retention)
                body = json.dumps(token_keys.jwks(rows), separators=(",", ":")).encode()
            previous = self._document
            if previous is not None and previous.body == body:
                document = previous  # unchanged: keep the same object and ETag
            else:
                document = CachedBody(body, media_type=MEDIA_TYPE, cache_control=CACHE_CONTROL)
            self._document, self._read_at, self._generation = document, read_at, generation
            return document
