"""Signing in to the console through our own IdP, and the console's server-side session.

Security contract: sign-in is the authorization code flow with PKCE S256 (RFC 7636), a
``state`` kept in the shared store for ten minutes and bound to the browser by a cookie, and
a ``nonce`` checked in the ID token (OIDC Core §3.1.3.7); the response must name our issuer
(RFC 9207). The code is redeemed by the token endpoint's own logic
(``idp.protocol.authorization_code.grant``, every check of a network redemption), so the
console has no side door. The tokens stay on the server: the browser holds only a random
session reference (cookie ``tx_console``). Each request re-verifies the access token
(signature, audience ``<issuer>/admin``, expiry) and that the IdP session is still going,
so a sign-out anywhere ends the console session; a token close to expiry is refreshed
(rotation as for any client; one refresh at a time per session).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from admin.console import registration
from idp import grants as idp_grants
from idp.errors import OAuthError
from idp.protocol import authorization_code, refresh_token, rfc7636
from idp.protocol.id_token_hint import ID_TOKEN_TYPES
from idp.role_scopes import ADMIN_RESOURCE, ADMIN_SCOPES
from idp.runtime import IdentityProvider
from keys.access_tokens import AccessToken, TokenError
from keys.jws import b64url_decode

COOKIE = "tx_console"
STATE_COOKIE = "tx_console_state"
PENDING_TTL = 600
SESSION_TTL = 8 * 3600
REFRESH_BEFORE = 60  # seconds before expiry: the old token still works for parallel requests
_DOMAIN = "admin"


class SignInFailed(Exception):
    """The authorization response cannot open a console session; the message says why."""


class NoAdministratorRole(SignInFailed):
    """The person signed in but holds no administrator role (the token is not for the
    admin API): there is nothing the console can do for them."""


@dataclass(frozen=True)
class Signed:
    """A console session: its reference and the verified access token it acts with."""

    ref: str
    token: AccessToken
    record: dict[str, Any]


def _key(idp: IdentityProvider, purpose: str, ident: str) -> str:
    return idp.store.key(_DOMAIN, purpose, ident)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a console path, never another site."""
    if not target or not target.startswith(f"{registration.PATH}/") or target.startswith("//"):
        return f"{registration.PATH}/"
    if any(c in target for c in "\\\r\n") or "://" in target:
        return f"{registration.PATH}/"
    return target


def start(idp: IdentityProvider, *, lang: str, next_path: str | None) -> tuple[str, str]:
    """The authorization URL to send the browser to, and the ``state`` to bind to it."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636 §4.1: 43 to 128 characters
    idp.store.set(
        _key(idp, "console-auth", state),
        json.dumps({"nonce": nonce, "verifier": verifier, "next": safe_next(next_path)}).encode(),
        ttl=PENDING_TTL,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": registration.CLIENT_ID,
            "redirect_uri": registration.redirect_uri(idp.issuer),
            "scope": " ".join(registration.SCOPES),
            "state": state,
            "nonce": nonce,
            "code_challenge": rfc7636.s256(verifier),
            "code_challenge_method": "S256",
            "ui_locales": lang,
        }
    )
    return f"{idp.issuer}/authorize?{query}", state


def finish(
    idp: IdentityProvider, *, params: dict[str, str], bound_state: str | None
) -> tuple[str, str]:
    """Check the authorization response, redeem the code, store the session; returns the
    session reference for the cookie and the console path to go to."""
    state = params.get("state") or "-"
    raw = idp.store.take(_key(idp, "console-auth", state))
    if raw is None or not bound_state or not secrets.compare_digest(bound_state, state):
        raise SignInFailed("state")
    if params.get("iss") != idp.issuer:
        raise SignInFailed("iss")
    if "error" in params:
        raise SignInFailed(params["error"][:64])
    pending = json.loads(raw)
    client = idp.client(registration.CLIENT_ID)
    if client is None or client.disabled:
        raise SignInFailed("client")
    try:
        body = authorization_code.grant(
            idp,
            client=client,
            form={
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": registration.redirect_uri(idp.issuer),
                "client_id": registration.CLIENT_ID,
                "code_verifier": pending["verifier"],
            },
        )
    except OAuthError as exc:
        raise SignInFailed(exc.error) from None
    try:
        _, claims = idp.tokens.verify_signature(body["id_token"], types=ID_TOKEN_TYPES)
    except TokenError:
        raise SignInFailed("id_token") from None
    if (
        claims.get("iss") != idp.issuer
        or claims.get("aud") not in (registration.CLIENT_ID, [registration.CLIENT_ID])
        or not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"])
    ):
        raise SignInFailed("id_token")
    if _verify(idp, body["access_token"]) is None:
        _abandon(idp, body["access_token"])
        raise NoAdministratorRole("no-role")
    ref = secrets.token_urlsafe(32)
    record = _record(body, sid=claims.get("sid"), organisation=claims.get("org"))
    idp.store.set(_key(idp, "console", ref), json.dumps(record).encode(), ttl=SESSION_TTL)
    return ref, safe_next(pending.get("next"))


def _abandon(idp: IdentityProvider, access_token: str) -> None:
    """A sign-in that gave no administrator role leaves nothing behind: the grant its code
    created (with a refresh token the console will never use) ends now."""
    claims = json.loads(b64url_decode(access_token.split(".")[1]))
    grant_id = str(claims.get("gid", ""))
    with idp.database.transaction() as session:
        revoked = idp_grants.revoke(session, grant_id, reason="no-administrator-role")
    if revoked:
        idp.grant_revoked(grant_id)


def _record(body: dict[str, Any], *, sid: Any, organisation: Any) -> dict[str, Any]:
    return {
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token"),
        "id_token": body["id_token"],
        "expires_at": int(time.time()) + int(body.get("expires_in", 0)),
        "sid": sid if isinstance(sid, str) else None,
        "organisation": organisation if isinstance(organisation, dict) else None,
    }


def _verify(idp: IdentityProvider, access_token: str) -> AccessToken | None:
    try:
        return idp.tokens.verify(
            access_token, audience=idp.issuer + ADMIN_RESOURCE, scope=ADMIN_SCOPES
        )
    except TokenError:
        return None


def load(idp: IdentityProvider, ref: str | None) -> Signed | None:
    """The console session of this cookie, refreshed when close to expiry; None when there
    is none, it ended (signed out at the IdP), or its token no longer verifies."""
    if not ref or len(ref) > 64:
        return None
    key = _key(idp, "console", ref)
    raw = idp.store.get(key)
    if raw is None:
        return None
    record = json.loads(raw)
    if not idp.sessions.alive(record.get("sid")):
        idp.store.delete(key)
        return None
    if record["expires_at"] - time.time() < REFRESH_BEFORE:
        record = _refreshed(idp, key, record) or record
    token = _verify(idp, record["access_token"])
    return Signed(ref=ref, token=token, record=record) if token is not None else None


def _refreshed(idp: IdentityProvider, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
    # One refresh per session at a time: a refresh token is spent by its first use, and a
    # second use would revoke the grant (reuse detection). The others keep the old token.
    if not record.get("refresh_token"):
        return None
    if not idp.store.set(key + ":refreshing", b"1", ttl=15, only_if_absent=True):
        return None
    try:
        # Read again under the lock: another request may have refreshed since ours read the
        # record, and its refresh token is then spent (using it would end the session).
        current = idp.store.get(key)
        if current is None:
            return None
        latest = json.loads(current)
        if latest.get("refresh_token") != record["refresh_token"]:
            return dict(latest)
        client = idp.client(registration.CLIENT_ID)
        if client is None:
            return None
        try:
            body = refresh_token.grant(
                idp,
                client=client,
                form={"grant_type": "refresh_token", "refresh_token": record["refresh_token"]},
            )
        except OAuthError:
            return None
        fresh = {**_record(body, sid=record["sid"], organisation=record["organisation"])}
        remaining = idp.store.ttl(key)
        idp.store.set(key, json.dumps(fresh).encode(), ttl=max(1, int(remaining or SESSION_TTL)))
        return fresh
    finally:  # released only once the new record is stored
        idp.store.delete(key + ":refreshing")


def end(idp: IdentityProvider, ref: str | None) -> dict[str, Any] | None:
    """End the console session; returns its record (for the IdP logout's ``id_token_hint``)."""
    if not ref or len(ref) > 64:
        return None
    raw = idp.store.take(_key(idp, "console", ref))
    return json.loads(raw) if raw else None
