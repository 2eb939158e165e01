"""Client authentication at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9).

Security contract: exactly one method per request (Basic header *or* form credentials, never
both, §2.3); the method must be the one the client registered; secrets are compared as
HMAC digests in constant time; unknown clients, disabled clients and wrong secrets all get
the same ``invalid_client`` answer, so client ids cannot be probed. ``private_key_jwt`` is
not accepted yet (registered such clients are refused, not waved through).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus

from idp import client_secrets
from idp.errors import InvalidClient, InvalidRequest
from idp.models import Client

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
) -> Client:
    """The authenticated client of a token-endpoint request, or ``invalid_client``."""
    basic = _basic_credentials(authorization) if authorization else None
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if basic and form_secret is not None:
        raise InvalidRequest("use one client authentication method, not two")
    if basic:
        client_id, secret, method = basic[0], basic[1], "client_secret_basic"
    elif form_secret is not None:
        client_id, secret, method = form_id or "", form_secret, "client_secret_post"
    elif form.get("client_assertion_type"):
        raise InvalidClient("private_key_jwt client authentication is not supported yet")
    else:
        client_id, secret, method = form_id or "", None, "none"
    if basic and form_id is not None and form_id != client_id:
        raise InvalidRequest("client_id in the body differs from the authenticated client")
    client = find_client(client_id) if client_id else None
    stored = client.secret_digest if client is not None else None
    secret_ok = secret is not None and client_secrets.matches(secret, stored=stored, key=digest_key)
    if (
        client is None
        or client.disabled
        or client.auth_method != method
        or (method != "none" and not secret_ok)
    ):
        raise InvalidClient("client authentication failed", headers=BASIC_CHALLENGE)
    return client
