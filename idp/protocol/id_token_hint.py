"""Checking an ``id_token_hint`` (OIDC RP-Initiated Logout §2, OIDC Core §3.1.2.1).

Security contract: the hint must be a JWS we signed with a published token-signing key
(``alg: none``, HMAC, unknown keys and bad signatures are refused) and name us as issuer;
its expiry is *not* checked — an expired ID token is the normal hint at logout. Returns
the client (``aud``/``azp``) and the session (``sid``) it was issued for.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.access_tokens import AccessTokenVerifier, TokenError

ID_TOKEN_TYPES = frozenset({"jwt", ""})


class InvalidHint(ValueError):
    """The hint is not an ID token of ours."""


@dataclass(frozen=True)
class Hint:
    """Whom the ID token was issued to, in which session."""

    client_id: str
    sid: str | None


def check(token: str, *, verifier: AccessTokenVerifier) -> Hint:
    """The hint's client and session, or :class:`InvalidHint`."""
    try:
        _, claims = verifier.verify_signature(token, types=ID_TOKEN_TYPES)
    except TokenError as exc:
        raise InvalidHint(str(exc)) from None
    if claims.get("iss") != verifier.issuer:
        raise InvalidHint("the hint was issued by someone else")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not audiences:
        raise InvalidHint("the hint names no client")
    client_id = claims.get("azp") if len(audiences) > 1 else audiences[0]
    if not isinstance(client_id, str) or client_id not in audiences:
        raise InvalidHint("the hint names no single client")
    sid = claims.get("sid")
    return Hint(client_id=client_id, sid=sid if isinstance(sid, str) else None)
