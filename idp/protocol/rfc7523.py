"""``private_key_jwt`` client authentication (RFC 7523 §2.2, §3; OIDC Core §9).

Security contract: the assertion is a JWS signed with ES256, RS256 or PS256 (never
``none`` or HMAC) by a key in the client's registered JWKS (fetched from its ``jwks_uri``
over https, cached for five minutes, refetched at most every 30 s for an unknown ``kid``;
a failed fetch with nothing cached is remembered for 30 s and one fetch per ``jwks_uri`` runs
at a time, so a flood of bogus assertions cannot make one outbound request each);
``iss`` and ``sub`` are the client id; ``aud`` names our token endpoint or our issuer;
``exp`` is in the future and at most five minutes after ``iat``; ``jti`` is present and
used once (kept in the shared store until the assertion expires), so a captured
assertion cannot be replayed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jws
from joserfc.jwk import KeySet

from core.store import Store
from idp.errors import InvalidClient
from idp.models import Client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["ES256", "RS256", "PS256"]
MAX_LIFETIME = 300
LEEWAY = 30
JWKS_CACHE_SECONDS = 300.0
UNKNOWN_KID_REFETCH_SECONDS = 30.0
FAILED_FETCH_SECONDS = UNKNOWN_KID_REFETCH_SECONDS
MAX_JWKS_BYTES = 64 * 1024


class ClientKeys:
    """Fetches and caches clients' JWKS documents (per process)."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        failed_fetch_seconds: float = FAILED_FETCH_SECONDS,
    ) -> None:
        self.transport = transport
        self.failed_fetch_seconds = failed_fetch_seconds
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._failed: dict[str, float] = {}  # uri -> when a fetch failed with nothing cached
        self._fetching: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def keys(self, uri: str, *, refresh_if_older_than: float | None = None) -> KeySet:
        """The key set at ``uri`` (cached); :class:`InvalidClient` when it cannot be had."""
        limit = JWKS_CACHE_SECONDS if refresh_if_older_than is None else refresh_if_older_than
        fresh = self._fresh(uri, limit)
        if fresh is not None:
            return fresh
        with self._lock:
            fetching = self._fetching.setdefault(uri, threading.Lock())
        with fetching:  # one fetch per uri at a time; the others then use its outcome
            fresh = self._fresh(uri, limit)
            if fresh is not None:
                return fresh
            now = time.monotonic()
            with self._lock:
                found = self._cache.get(uri)
            try:
                key_set = KeySet.import_key_set(json.loads(self._fetch(uri)))
            except Exception:  # any failure of someone else's server or document: not ours
                with self._lock:
                    if found is not None:
                        # Keep serving the last good set while the client's server is down,
                        # and wait before asking it again.
                        self._cache[uri] = (now, found[1])
                        return found[1]
                    self._failed[uri] = now
                raise InvalidClient("the client's JWKS could not be fetched") from None
            with self._lock:
                self._cache[uri] = (now, key_set)
                self._failed.pop(uri, None)
            return key_set

    def _fresh(self, uri: str, limit: float) -> KeySet | None:
        """The cached set if younger than ``limit``; raises while a recent failure (with
        nothing cached) is remembered, so bogus assertions do not each cause a fetch."""
        now = time.monotonic()
        with self._lock:
            found = self._cache.get(uri)
            failed = self._failed.get(uri)
        if found is not None and now - found[0] < limit:
            return found[1]
        if found is None and failed is not None and now - failed < self.failed_fetch_seconds:
            raise InvalidClient("the client's JWKS could not be fetched recently")
        return None

    def _fetch(self, uri: str) -> bytes:
        """The document at ``uri``: 200 only, at most 64 KiB read, no redirects."""
        with (
            httpx.Client(transport=self.transport, timeout=5, follow_redirects=False) as http,
            http.stream("GET", uri, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("the JWKS is too large")
            return body


def verify(
    assertion: str,
    *,
    client: Client,
    audiences: set[str],
    client_keys: ClientKeys,
    store: Store,
) -> None:
    """Accept the assertion for ``client``, or raise ``invalid_client``."""
    if not client.jwks_uri or len(assertion) > 8192:
        raise InvalidClient("client authentication failed")
    claims = _verified_claims(assertion, client.jwks_uri, client_keys)
    now = time.time()
    audience = claims.get("aud")
    audience_list = [audience] if isinstance(audience, str) else audience
    expiry, issued = claims.get("exp"), claims.get("iat", now)
    jti = claims.get("jti")
    if (
        claims.get("iss") != client.client_id
        or claims.get("sub") != client.client_id
        or not isinstance(audience_list, list)
        or not audiences & {a for a in audience_list if isinstance(a, str)}
        or not isinstance(expiry, int | float)
        or isinstance(expiry, bool)
        or expiry < now - LEEWAY
        or not isinstance(issued, int | float)
        or issued > now + LEEWAY
        or expiry - min(issued, now) > MAX_LIFETIME + LEEWAY
        or not isinstance(jti, str)
        or not 0 < len(jti) <= 256
    ):
        raise InvalidClient("the client assertion is not acceptable")
    key = store.key("idp", "assertion-jti", f"{client.client_id}:{jti}")
    ttl = max(1.0, expiry - now + LEEWAY)
    if not store.set(key, b"1", ttl=ttl, only_if_absent=True):
        raise InvalidClient("the client assertion was used before")


def _verified_claims(assertion: str, jwks_uri: str, client_keys: ClientKeys) -> dict[str, Any]:
    attempts: list[Callable[[], KeySet]] = [
        lambda: client_keys.keys(jwks_uri),
        lambda: client_keys.keys(jwks_uri, refresh_if_older_than=UNKNOWN_KID_REFETCH_SECONDS),
    ]
    for load in attempts:
        try:
            token = jws.deserialize_compact(assertion, load(), algorithms=ALGORITHMS)
            claims = json.loads(token.payload)
            if isinstance(claims, dict):
                return claims
            raise InvalidClient("the client assertion is not acceptable")
        except InvalidClient:
            raise
        except Exception:  # noqa: S112 - hostile input (e.g. "crit": 5) fails as invalid_client
            continue
    raise InvalidClient("the client assertion's signature does not verify")
