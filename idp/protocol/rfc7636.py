"""PKCE (RFC 7636), S256 only: ``plain`` offers no protection against a stolen code.

Security contract: a challenge must be 43 base64url characters with method ``S256``
(anything else is refused, never downgraded); a verifier must be 43-128 unreserved
characters (§4.1); verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from idp.errors import InvalidGrant, InvalidRequest

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) (§4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_challenge(*, challenge: str | None, method: str | None) -> str:
    """The challenge of an authorization request, or ``invalid_request``."""
    if not challenge:
        raise InvalidRequest("code_challenge is required (PKCE with S256)")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters")
    return challenge


def verify(*, verifier: str | None, challenge: str) -> None:
    """Accept the token request's verifier for ``challenge``, or ``invalid_grant``."""
    if not verifier or not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is missing or malformed")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
