"""A bare FastAPI app doing the edge's cryptographic work with no storage: the Python ceiling.

Run by `bench.edge_wrk` (one uvicorn worker, `--factory bench.bare_app:create_app`) as the
baseline our endpoints are measured against. It does what our handlers must do and nothing
else: no middleware, no database, no store, no logging, no thread-pool hop.

  GET  /ping                               {"status":"ok"} (against our `/healthz`)
  POST /token                              client_credentials: parses the form (Starlette,
                                           like ours), checks HTTP Basic credentials against
                                           an in-memory HMAC-SHA-256 digest under a data key
                                           (what `idp/client_secrets.py` costs: our client
                                           secrets are not argon2-hashed), mints an RFC 9068
                                           ES256 JWT with our claim set (`keys/access_tokens.py`)
  GET  /jwks                               precomputed bytes
  GET  /.well-known/openid-configuration   precomputed bytes
  GET  /userinfo                           verifies an ES256 bearer JWT (typ, alg, kid,
                                           signature, iss, exp, nbf/iat, aud, scope openid)
                                           on every request (ours remembers verified
                                           signatures for 5 s) and returns {"sub": ...}

Environment: BARE_ISSUER (http://127.0.0.1:PORT), BARE_CLIENT_ID, BARE_CLIENT_SECRET.
A token requested with scope `openid` is for `/userinfo`; otherwise for `{issuer}/seal`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

LIFETIME = 600
LEEWAY = 30
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class TokenMint:
    """One P-256 key, created at start, signing and verifying ES256 access tokens."""

    def __init__(self, *, issuer: str) -> None:
        self.issuer = issuer
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key()
        self.kid = secrets.token_urlsafe(16)
        numbers = self.public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        }
        self.jwks = _json({"keys": [jwk]})

    def mint(self, *, client_id: str, scope: str) -> str:
        """The RFC 9068 claim set our `keys.access_tokens.mint` signs."""
        now = int(time.time())
        audience = self.issuer + ("/userinfo" if "openid" in scope.split() else "/seal")
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "aud": audience,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME,
            "jti": secrets.token_urlsafe(16),
        }
        header = {"typ": "at+jwt", "alg": "ES256", "kid": self.kid}
        signing_input = f"{_b64url(_json(header))}.{_b64url(_json(claims))}"
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str, *, audience: str, scope: str) -> dict[str, Any] | None:
        """The claims of a valid token for ``audience`` with ``scope``, else None."""
        if len(token) > 8192 or token.count(".") != 2:
            return None
        header_b64, claims_b64, signature_b64 = token.split(".")
        try:
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, binascii.Error):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        if header.get("typ") != "at+jwt" or header.get("alg") != "ES256":
            return None
        if header.get("kid") != self.kid or len(signature) != 64:
            return None
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            self.public.verify(
                der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            return None
        now = time.time()
        if claims.get("iss") != self.issuer or not isinstance(claims.get("exp"), int):
            return None
        if claims["exp"] < now - LEEWAY or claims.get("nbf", 0) > now + LEEWAY:
            return None
        if claims.get("iat", 0) > now + LEEWAY or claims.get("aud") != audience:
            return None
        if scope not in str(claims.get("scope", "")).split():
            return None
        return claims


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1): Base64 of form-encoded id and secret."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, binascii.Error):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def create_app() -> FastAPI:
    """The bare app (settings from BARE_* variables; see the module docstring)."""
    issuer = os.environ.get("BARE_ISSUER", "http://127.0.0.1:8000")
    client_id = os.environ.get("BARE_CLIENT_ID", "bench-machine")
    digest_key = secrets.token_bytes(32)
    stored = hmac.new(
        digest_key, os.environ.get("BARE_CLIENT_SECRET", "").encode(), hashlib.sha256
    ).digest()
    mint = TokenMint(issuer=issuer)
    discovery = _json(
        {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }
    )
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/jwks")
    async def jwks() -> Response:
        return Response(mint.jwks, media_type="application/jwk-set+json")

    @app.get("/.well-known/openid-configuration")
    async def openid_configuration() -> Response:
        return Response(discovery, media_type="application/json")

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
            "application/x-www-form-urlencoded"
        ):
            return JSONResponse({"error": "invalid_request"}, 400, headers=NO_STORE)
        form = await request.form()
        credentials = _basic_credentials(request.headers.get("authorization"))
        candidate = hmac.new(
            digest_key, (credentials or ("", ""))[1].encode(), hashlib.sha256
        ).digest()
        if (
            credentials is None
            or credentials[0] != client_id
            or not hmac.compare_digest(candidate, stored)
        ):
            return JSONResponse({"error": "invalid_client"}, 401, headers=NO_STORE)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400, headers=NO_STORE)
        scope = str(form.get("scope") or "seal:sign")
        body = {
            "access_token": mint.mint(client_id=client_id, scope=scope),
            "token_type": "Bearer",
            "expires_in": LIFETIME,
            "scope": scope,
        }
        return JSONResponse(body, headers=NO_STORE)

    @app.get("/userinfo")
    async def userinfo(request: Request) -> JSONResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        claims = (
            mint.verify(value.strip(), audience=issuer + "/userinfo", scope="openid")
            if scheme.lower() == "bearer"
            else None
        )
        if claims is None:
            return JSONResponse(
                {"error": "invalid_token"},
                401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"', **NO_STORE},
            )
        return JSONResponse({"sub": claims["sub"]}, headers={"Cache-Control": "no-store"})

    return app
