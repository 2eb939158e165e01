"""Client authentication at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9).

Security contract: exactly one method per request (Basic header *or* form credentials, never
both, §2.3); the method must be the one the client registered; secrets are compared as
HMAC digests in constant time; unknown clients, disabled clients and wrong secrets all get
the same ``invalid_client`` answer, so client ids cannot be probed. ``private_key_jwt``
assertions are checked by :mod:`idp.protocol.rfc7523` (signature against the client's
registered JWKS, claims, single-use ``jti``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus

from idp import client_secrets
from idp.errors import InvalidClient, InvalidRequest
from idp.models import Client
from idp.protocol import rfc7523
from keys.jws import b64url_decode

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="tongxing", charset="UTF-8"'}


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError):
        raise InvalidClient("malformed Basic credentials", headers=BASIC_CHALLENGE) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("malformed Basic credentials", headers=BASIC_CHALLENGE)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(
    *,
    find_client: Callable[[str], Client | None],
    authorization: str | None,
    form: Mapping[str, str],
    digest_key: bytes,
    verify_assertion: Callable[[Client, str], None] | None = None,
) -> Client:
    """The authenticated client of a token-endpoint request, or ``invalid_client``."""
    basic = _basic_credentials(authorization) if authorization else None
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    assertion_type, assertion = form.get("client_assertion_type"), form.get("client_assertion")
    if sum(x is not None for x in (basic, form_secret, assertion_type)) > 1:
        raise InvalidRequest("use one client authentication method, not two")
    secret: str | None = None
    if basic:
        client_id, secret, method = basic[0], basic[1], "client_secret_basic"
    elif form_secret is not None:
        client_id, secret, method = form_id or "", form_secret, "client_secret_post"
    elif assertion_type is not None:
        if assertion_type != rfc7523.ASSERTION_TYPE or not assertion:
            raise InvalidClient("unsupported client assertion type or no assertion")
        # OIDC Core §9: client_id is optional; the assertion's sub names the client (it is
        # checked against the verified claims below).
        client_id, method = form_id or _unverified_subject(assertion), "private_key_jwt"
    else:
        client_id, method = form_id or "", "none"
    if basic and form_id is not None and form_id != client_id:
        raise InvalidRequest("client_id in the body differs from the authenticated client")
    client = find_client(client_id) if client_id else None
    if client is None or client.disabled or client.auth_method != method:
        raise InvalidClient("client authentication failed", headers=BASIC_CHALLENGE)
    if method == "private_key_jwt":
        if verify_assertion is None or assertion is None:
            raise InvalidClient("private_key_jwt is not accepted here")
        verify_assertion(client, assertion)
    elif method != "none" and not (
        secret is not None
        and client_secrets.matches(secret, stored=client.secret_digest, key=digest_key)
    ):
        raise InvalidClient("client authentication failed", headers=BASIC_CHALLENGE)
    return client


def _unverified_subject(assertion: str) -> str:
    """The ``sub`` of an assertion, only to find whose keys verify it."""
    try:
        claims = json.loads(b64url_decode(assertion.split(".")[1]))
    except (IndexError, ValueError, RecursionError):
        return ""
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and len(sub) <= 64 else ""
