"""Talking to upstream providers: their discovery documents and keys (cached per process),
the token request and the userinfo request.

Security contract: documents are fetched without following redirects, at most 64 KiB, with
a five-second timeout; a discovery document is kept five minutes once it passed
:func:`idp.protocol.oidc_rp.metadata` (issuer equality), keys as
:class:`idp.protocol.rfc7523.ClientKeys` keeps them (refetched on an unknown ``kid``); the
client secret goes only to the token endpoint, as the upstream asks for it
(``client_secret_basic``, form-encoded per RFC 6749 §2.3.1, or ``client_secret_post``), and
is never logged; a userinfo answer counts only when its ``sub`` is the ID token's (Core
§5.3.2). Failures raise :class:`UpstreamUnavailable` without the upstream's answer in it.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
from joserfc.jwk import KeySet

from core.ttl_cache import TtlCache
from idp.models import UpstreamProvider
from idp.protocol import oidc_rp
from idp.protocol.rfc7523 import UNKNOWN_KID_REFETCH_SECONDS, ClientKeys

DISCOVERY_CACHE_SECONDS = 300.0
MAX_DOCUMENT = 64 * 1024
TIMEOUT = 5.0


class UpstreamUnavailable(RuntimeError):
    """The upstream could not be reached or answered what we cannot use."""


class UpstreamDirectory:
    """Per process: discovery documents and keys of upstream providers, and requests to them."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self.transport = transport
        self._documents: TtlCache[str, oidc_rp.Metadata] = TtlCache(seconds=DISCOVERY_CACHE_SECONDS)
        self._keys = ClientKeys(transport=transport)

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport, timeout=TIMEOUT, follow_redirects=False)

    def metadata(self, upstream: UpstreamProvider) -> oidc_rp.Metadata:
        """The upstream's checked discovery document (cached)."""
        cache_key = f"{upstream.id}|{upstream.discovery_url}|{upstream.issuer}"
        found = self._documents.get(cache_key)
        if found is not None:
            return found
        try:
            document = json.loads(self._get(upstream.discovery_url))
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(f"discovery document: {type(exc).__name__}") from None
        try:
            checked = oidc_rp.metadata(
                document,
                issuer=upstream.issuer,
                allow_loopback_http=upstream.discovery_url.startswith("http://"),
            )
        except oidc_rp.UpstreamTokenError as exc:
            raise UpstreamUnavailable(f"discovery document: {exc}") from None
        self._documents.put(cache_key, checked)
        return checked

    def key_loader(self, metadata: oidc_rp.Metadata) -> oidc_rp.KeyLoader:
        """The upstream's keys: cached, or fetched again (``refresh``) when they do not
        verify a token."""

        def load(refresh: bool) -> KeySet:
            return self._keys.keys(
                metadata.jwks_uri,
                refresh_if_older_than=UNKNOWN_KID_REFETCH_SECONDS if refresh else None,
            )

        return load

    def redeem(
        self,
        metadata: oidc_rp.Metadata,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        verifier: str,
    ) -> dict[str, Any]:
        """The token response for ``code`` (OIDC Core §3.1.3.1-3.1.3.4)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if metadata.token_auth_method == "client_secret_basic":  # noqa: S105 - a method name
            pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form.update(client_id=client_id, client_secret=client_secret)
        try:
            with self._client() as http:
                response = http.post(metadata.token_endpoint, data=form, headers=headers)
            body = response.json() if len(response.content) <= MAX_DOCUMENT else None
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(f"token request: {type(exc).__name__}") from None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise UpstreamUnavailable(f"token request: HTTP {response.status_code} {error or ''}")
        if not isinstance(body.get("id_token"), str):
            raise UpstreamUnavailable("token response without an id_token")
        return body

    def userinfo(
        self, metadata: oidc_rp.Metadata, *, access_token: str, subject: str
    ) -> dict[str, Any]:
        """The userinfo claims for ``subject`` (empty when the upstream has no endpoint)."""
        if metadata.userinfo_endpoint is None:
            return {}
        try:
            with self._client() as http:
                response = http.get(
                    metadata.userinfo_endpoint,
                    headers={
                        "Authorization": f"Bearer {access_token}",
                        "Accept": "application/json",
                    },
                )
            body = response.json() if len(response.content) <= MAX_DOCUMENT else None
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(f"userinfo: {type(exc).__name__}") from None
        if response.status_code != 200 or not isinstance(body, dict):
            raise UpstreamUnavailable(f"userinfo: HTTP {response.status_code}")
        if body.get("sub") != subject:
            raise UpstreamUnavailable("userinfo: sub differs from the ID token's")
        return body

    def _get(self, uri: str) -> bytes:
        with (
            self._client() as http,
            http.stream("GET", uri, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                )
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT:
                    raise ValueError("the document is too large")
            return body
