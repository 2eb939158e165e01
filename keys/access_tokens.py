"""JWT access tokens (RFC 9068): minted with the active token-signing key, verified by our
resource servers (audit and sealing APIs) against the published token-signing keys.

Security contract of :meth:`AccessTokenVerifier.verify`: the JOSE header must say
``typ: at+jwt`` and ``alg`` ES256 or RS256 (never ``none``, never HMAC), and name a
token-signing key that is published (next, active, or retired within the retention); the
signature must verify with that key; ``iss`` must be our issuer, ``aud`` must contain the
resource's audience, ``exp`` must be in the future and ``iat``/``nbf`` not in the future
(30 s leeway); the ``scope`` must include the required scope. It does not check revocation
(tokens are short-lived; introspection is the IdP's business).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy.orm import Session

from core.database import Database
from core.ttl_cache import TtlCache
from keys import token_keys
from keys.algorithms import KeyAlgorithm
from keys.custody import KeyCustody
from keys.jws import b64url_decode, sign_compact
from keys.stores import SigningKey

LEEWAY = 30
VERIFIED_CACHE_SECONDS = 5.0
ACCESS_TOKEN_TYPES = frozenset({"at+jwt"})
MAX_TOKEN = 8192
_KEY_CACHE_SECONDS = 30.0
_UNKNOWN_KID_RELOAD_SECONDS = 5.0


class TokenError(ValueError):
    """The token is not acceptable; ``error`` is the RFC 6750 error code."""

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class AccessToken:
    """The verified claims a resource server acts on."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def mint(
    session: Session | None,
    *,
    custody: KeyCustody,
    issuer: str,
    audience: str | list[str],
    subject: str,
    client_id: str,
    scope: str,
    lifetime: timedelta,
    extra: dict[str, Any] | None = None,
    key: SigningKey | None = None,
) -> str:
    """An RFC 9068 access token signed with ``key`` or else the active token-signing key."""
    key = key or token_keys.remembered_signing_key(custody)
    if key is None:
        if session is None:
            raise ValueError("loading the token-signing key needs a database session")
        key = token_keys.active_signing_key(session, custody)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + int(lifetime.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        **(extra or {}),
    }
    return sign_compact(key=key, claims=claims, typ="at+jwt")


class AccessTokenVerifier:
    """Verifies access tokens for one resource (audience) against the published keys."""

    def __init__(self, *, database: Database, issuer: str, retention: timedelta) -> None:
        self.database = database
        self.issuer = issuer
        self.retention = retention
        self._keys: dict[str, tuple[KeyAlgorithm, Any]] = {}
        self._signed_claims: TtlCache[str, dict[str, Any]] = TtlCache(
            seconds=VERIFIED_CACHE_SECONDS, max_items=10_000
        )
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _published(self, kid: str) -> tuple[KeyAlgorithm, Any] | None:
        with self._lock:
            age = time.monotonic() - self._loaded_at
            if kid in self._keys and age < _KEY_CACHE_SECONDS:
                return self._keys[kid]
            # An unknown kid reloads at most every few seconds: bogus tokens cost no queries.
            if kid not in self._keys and age < _UNKNOWN_KID_RELOAD_SECONDS:
                return None
        with self.database.reading() as session:
            rows = token_keys.published(session, retention=self.retention)
            keys = {
                row.id: (
                    KeyAlgorithm(row.algorithm),
                    serialization.load_der_public_key(row.public_key),
                )
                for row in rows
            }
        with self._lock:
            self._keys, self._loaded_at = keys, time.monotonic()
        return keys.get(kid)

    def verify_signature(
        self, token: str, *, types: frozenset[str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a JWS we signed: ``typ`` among ``types`` (lower case; ""
        for a token without ``typ``), an accepted ``alg``, a published ``kid``, a valid
        signature. Claims (issuer, expiry, audience) are the caller's to check."""
        if len(token) > MAX_TOKEN or token.count(".") != 2:
            raise TokenError("malformed token")
        header_b64, claims_b64, signature_b64 = token.split(".")
        try:
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except (ValueError, RecursionError):
            raise TokenError("malformed token") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("malformed token")
        typ = header.get("typ", "")
        if not isinstance(typ, str) or typ.lower().removeprefix("application/") not in types:
            raise TokenError("unexpected token type")
        if "crit" in header:
            raise TokenError("critical header parameters are not supported")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in {a.value for a in KeyAlgorithm}:
            raise TokenError("unacceptable signature algorithm")
        kid = header.get("kid")
        published = self._published(kid) if isinstance(kid, str) else None
        if published is None or published[0].value != algorithm:
            raise TokenError("unknown signing key")
        _check_signature(published, data=f"{header_b64}.{claims_b64}".encode(), signature=signature)
        return header, claims

    def recently_verified(self, token: str) -> bool:
        """Whether this exact token's signature was checked moments ago (so checking it
        again needs no key lookup)."""
        return self._signed_claims.get(token) is not None

    def verify(self, token: str, *, audience: str, scope: str | frozenset[str]) -> AccessToken:
        """The token's claims, or :class:`TokenError` (see the module's security contract);
        ``scope`` is the required scope, or a set of which the token must carry one.

        Error messages are fixed texts: nothing from the token is echoed back."""
        claims = self._signed_claims.get(token)
        if claims is None:
            try:
                _, claims = self.verify_signature(token, types=ACCESS_TOKEN_TYPES)
            except TokenError as exc:
                if str(exc) == "unexpected token type":
                    raise TokenError("not an access token (typ must be at+jwt)") from None
                raise
            # The same token string always verifies the same way: remember the signature
            # check briefly (claims, audience and scope are still checked on every call).
            self._signed_claims.put(token, claims)
        self._check_claims(claims, audience=audience)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not (scopes & scope if isinstance(scope, frozenset) else scope in scopes):
            raise TokenError("the token lacks the required scope", error="insufficient_scope")
        return AccessToken(
            subject=str(claims.get("sub", "")),
            client_id=str(claims.get("client_id", "")),
            scopes=scopes,
            claims=claims,
        )

    def check_lifetime(self, claims: dict[str, Any]) -> None:
        """Issuer ours, ``exp`` not passed, ``iat``/``nbf`` not in the future (30 s leeway)."""
        now = time.time()
        if claims.get("iss") != self.issuer:
            raise TokenError("wrong issuer")
        expiry = claims.get("exp")
        if (
            not isinstance(expiry, int | float)
            or isinstance(expiry, bool)
            or (expiry < now - LEEWAY)
        ):
            raise TokenError("the token has expired or has no valid exp")
        for claim in ("iat", "nbf"):
            value = claims.get(claim)
            if value is None:
                continue
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or (value > now + LEEWAY)
            ):
                raise TokenError(f"the token's {claim} is invalid or in the future")

    def _check_claims(self, claims: dict[str, Any], *, audience: str) -> None:
        self.check_lifetime(claims)
        audiences = claims.get("aud")
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or audience not in audiences:
            raise TokenError("the token is not for this resource")


def _check_signature(published: tuple[KeyAlgorithm, Any], *, data: bytes, signature: bytes) -> None:
    algorithm, public = published
    try:
        if algorithm is KeyAlgorithm.ES256:
            if len(signature) != 64:
                raise InvalidSignature
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            assert isinstance(public, ec.EllipticCurvePublicKey)
            public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise TokenError("bad signature") from None
