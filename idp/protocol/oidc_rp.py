"""OpenID Connect as a relying party of an upstream provider: its discovery document
(Discovery 1.0 §4.3), its ID tokens (Core 1.0 §3.1.3.7) and its logout tokens (Back-Channel
Logout 1.0 §2.6).

Security contract: every endpoint a discovery document names that we use is https (http only
to a loopback address when the discovery URL itself is, in demo and tests), never to a
link-local address literal. A JWS verifies only with ES256, RS256, PS256 or EdDSA (never ``none`` or
HMAC) under a key of the upstream's JWKS, asked for again (at most every 30 s, see
:class:`idp.protocol.rfc7523.ClientKeys`) when no cached key verifies it, so a key rotation
at the upstream is followed. An ID token needs ``iss`` equal to the issuer, our client id in
``aud`` (with several audiences, ``azp`` present; ``azp``, when present, our client id),
``exp`` in the future and ``iat`` at most ten minutes old (30 s leeway for clocks), the
``nonce`` we sent and a ``sub``. A logout token needs ``iss``, our client id in ``aud``,
``iat`` at most ten minutes old, ``exp`` (when present) in the future, the back-channel logout
``events`` member, a ``sid`` or ``sub``, no ``nonce``, and a ``jti`` (its single use is the
caller's to enforce). ``at_hash`` and ``auth_time`` are not checked (the code flow's token
response came straight from the upstream's token endpoint over TLS, §3.1.3.8).
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.jwk import KeySet

ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]
LEEWAY = 30
MAX_AGE = 600
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_TOKEN = 16 * 1024


class UpstreamTokenError(ValueError):
    """The upstream's document or token is not acceptable; the message says which rule."""


@dataclass(frozen=True)
class Metadata:
    """What we use of an upstream's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    token_auth_method: str  # client_secret_basic | client_secret_post
    algorithms: list[str]
    claims_parameter: bool  # claims_parameter_supported (Core §5.5)
    iss_parameter: bool  # authorization_response_iss_parameter_supported (RFC 9207 §3)


def metadata(document: Any, *, issuer: str, allow_loopback_http: bool = False) -> Metadata:
    """The discovery document checked: issuer identical to ``issuer`` (§4.3), the endpoints
    we need present, every endpoint it names that we use https (see :func:`endpoint_allowed`;
    http to a loopback address only with ``allow_loopback_http``), the code flow and one of
    our client authentication methods offered."""
    if not isinstance(document, dict):
        raise UpstreamTokenError("the discovery document is not a JSON object")
    if document.get("issuer") != issuer:
        raise UpstreamTokenError("the discovery document names another issuer")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise UpstreamTokenError(f"the discovery document has no {name}")
        if not endpoint_allowed(value, allow_loopback_http=allow_loopback_http):
            raise UpstreamTokenError(f"the discovery document's {name} is not an https URL")
        endpoints[name] = value
    if "code" not in (document.get("response_types_supported") or []):
        raise UpstreamTokenError("the upstream does not offer the code flow")
    # Discovery §3: client_secret_basic when the member is absent.
    offered = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = next((m for m in ("client_secret_basic", "client_secret_post") if m in offered), None)
    if method is None:
        raise UpstreamTokenError("the upstream offers no client_secret authentication")
    signing = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in ALGORITHMS if a in signing]
    if not algorithms:
        raise UpstreamTokenError("the upstream signs ID tokens with no algorithm we accept")

    def optional(name: str) -> str | None:
        value = document.get(name)
        if not isinstance(value, str) or not value.startswith("http"):
            return None
        if not endpoint_allowed(value, allow_loopback_http=allow_loopback_http):
            raise UpstreamTokenError(f"the discovery document's {name} is not an https URL")
        return value

    return Metadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        userinfo_endpoint=optional("userinfo_endpoint"),
        end_session_endpoint=optional("end_session_endpoint"),
        token_auth_method=method,
        algorithms=algorithms,
        claims_parameter=document.get("claims_parameter_supported") is True,
        iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
    )


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


def link_local(host: str) -> bool:
    """Whether ``host`` is a link-local address literal (169.254.0.0/16, fe80::/10): cloud
    metadata services live there, so no upstream URL may name one."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return any(address in network for network in _LINK_LOCAL)


def endpoint_allowed(url: str, *, allow_loopback_http: bool) -> bool:
    """Whether an upstream URL may be used: https to a host that is not a link-local address
    literal, or (only when ``allow_loopback_http``, i.e. the discovery URL itself is http to
    a loopback address: demo and tests) http to a loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or link_local(host) or parts.fragment:
        return False
    return parts.scheme == "https" or (
        allow_loopback_http and parts.scheme == "http" and host in LOOPBACK
    )


KeyLoader = Callable[[bool], KeySet]  # loader(refresh) -> the upstream's key set


def verified_claims(token: str, *, keys: KeyLoader, algorithms: list[str]) -> dict[str, Any]:
    """The claims of a JWS that verifies under the upstream's keys (asked for afresh once
    when the cached ones do not verify it)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise UpstreamTokenError("not a compact JWS")
    for refresh in (False, True):
        try:
            key_set = keys(refresh)
        except Exception:  # noqa: S112 - the upstream's JWKS could not be had
            continue
        try:
            verified = jws.deserialize_compact(token, key_set, algorithms=algorithms)
        except Exception:  # noqa: S112 - a bad token, or a key we do not have yet
            continue
        try:
            claims = json.loads(verified.payload)
        except ValueError:
            break
        if isinstance(claims, dict):
            return claims
        break
    raise UpstreamTokenError("the signature does not verify under the upstream's keys")


def _audiences(claims: dict[str, Any]) -> list[str]:
    audience = claims.get("aud")
    values = [audience] if isinstance(audience, str) else audience
    if not isinstance(values, list) or not all(isinstance(a, str) for a in values):
        raise UpstreamTokenError("aud is missing or malformed")
    return values


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UpstreamTokenError(f"{name} is missing")
    return float(value)


def id_token_claims(
    token: str,
    *,
    keys: KeyLoader,
    algorithms: list[str],
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims after the checks of Core §3.1.3.7 (see the module docstring)."""
    claims = verified_claims(token, keys=keys, algorithms=algorithms)
    moment = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise UpstreamTokenError("iss is not the upstream's issuer")
    audiences = _audiences(claims)
    if client_id not in audiences:
        raise UpstreamTokenError("aud does not name our client")
    if len(audiences) > 1 and "azp" not in claims:
        raise UpstreamTokenError("several audiences and no azp")
    if "azp" in claims and claims["azp"] != client_id:
        raise UpstreamTokenError("azp is not our client")
    if _number(claims, "exp") <= moment - LEEWAY:
        raise UpstreamTokenError("the ID token has expired")
    issued = _number(claims, "iat")
    if issued > moment + LEEWAY or issued < moment - MAX_AGE:
        raise UpstreamTokenError("iat is too far from now")
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
        raise UpstreamTokenError("the nonce is not the one we sent")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise UpstreamTokenError("sub is missing")
    return claims


def logout_token_claims(
    token: str,
    *,
    keys: KeyLoader,
    algorithms: list[str],
    issuer: str,
    client_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The logout token's claims after the checks of Back-Channel Logout §2.6 (see the
    module docstring; the ``jti``'s single use is the caller's)."""
    claims = verified_claims(token, keys=keys, algorithms=algorithms)
    moment = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise UpstreamTokenError("iss is not the upstream's issuer")
    if client_id not in _audiences(claims):
        raise UpstreamTokenError("aud does not name our client")
    issued = _number(claims, "iat")
    if issued > moment + LEEWAY or issued < moment - MAX_AGE:
        raise UpstreamTokenError("iat is too far from now")
    if "exp" in claims and _number(claims, "exp") <= moment - LEEWAY:
        raise UpstreamTokenError("the logout token has expired")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise UpstreamTokenError("events has no back-channel logout member")
    if "nonce" in claims:
        raise UpstreamTokenError("a logout token must not carry a nonce")
    sid, subject = claims.get("sid"), claims.get("sub")
    if not isinstance(sid, str) and not isinstance(subject, str):
        raise UpstreamTokenError("neither sid nor sub")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise UpstreamTokenError("jti is missing")
    return claims
