"""Registering relying parties and machine clients, with the rules that keep them safe.

Security contract: redirect and logout URIs are absolute https URLs without fragments
(plain http only for loopback hosts, RFC 8252 §7.3) and are later matched exactly;
public clients (``none``) may only use the authorization code flow (PKCE is enforced at
the authorization endpoint); ``private_key_jwt`` needs a jwks_uri; confidential clients'
secrets are stored only as HMAC-SHA-256 digests. Every change is audited.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.events import EventRecorder
from core.hosts import is_loopback
from idp import client_secrets, repository, role_scopes
from idp.models import PROOFING_LEVELS, Client
from keys.data_keys import DataKeys

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")  # RFC 6749 §3.3 scope-token


class ClientError(ValueError):
    """A registration was refused; the message says why."""


def check_uri(uri: str, *, what: str, loopback_http: bool = False) -> str:
    """An absolute https URI without fragment, userinfo, control characters or backslashes;
    with ``loopback_http``, plain http to a loopback host too (browser redirects only:
    never for URIs this server itself fetches or posts to)."""
    if len(uri) > 512 or any(ord(c) < 0x21 or c == "\\" for c in uri):
        raise ClientError(f"{what} contains spaces, control characters or backslashes")
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - raises for an invalid port
    except ValueError:
        raise ClientError(f"{what} {uri!r} has an invalid port") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ClientError(f"{what} {uri!r} must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise ClientError(f"{what} {uri!r} must not contain user information")
    if parts.scheme == "http" and not (loopback_http and is_loopback(parts.hostname)):
        hint = " (http only for loopback hosts)" if loopback_http else ""
        raise ClientError(f"{what} {uri!r} must use https{hint}")
    if parts.fragment or "#" in uri:
        raise ClientError(f"{what} {uri!r} must not contain a fragment")
    return uri


def register(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    client_id: str,
    name: str,
    grant_types: list[str],
    scopes: list[str],
    actor: str,
    auth_method: str | None = None,
    secret: str | None = None,
    jwks_uri: str | None = None,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str | None = None,
    pairwise_sector: str | None = None,
    first_party: bool = False,
    loopback_server_uris: bool = False,
    id_token_alg: str | None = None,
    owner_organisation_id: str | None = None,
    admin_signin: bool = False,
    min_level: int | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret in clear (generated if not supplied)
    for confidential secret-based clients: the only time the secret is ever shown."""
    if not _CLIENT_ID.match(client_id):
        raise ClientError("client ids have 3-64 characters: letters, digits, '.', '_', '-'")
    if repository.client(session, client_id) is not None:
        raise ClientError(f"client {client_id!r} exists already")
    method = auth_method or ("private_key_jwt" if jwks_uri else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ClientError(f"authentication method must be one of {', '.join(AUTH_METHODS)}")
    if not grant_types or any(g not in GRANT_TYPES for g in grant_types):
        raise ClientError(f"grant types must be among {', '.join(GRANT_TYPES)}")
    if any(not _SCOPE.match(s) for s in scopes):
        raise ClientError("scopes are space-free tokens of printable ASCII")
    # A service account acts in its own name: like a person, it holds one role at most. A
    # sign-in client (the console) only relays the role of the person signed in.
    if "client_credentials" in grant_types and not role_scopes.one_platform_scope(scopes):
        raise ClientError(
            "a service account holds at most one of admin:system, admin:security and "
            "admin:audit (nobody holds two of the three administrator roles)"
        )
    if (
        role_scopes.ADMIN_SCOPES.intersection(scopes)
        and "authorization_code" in grant_types
        and not admin_signin
    ):
        # A token with an administrator scope works at the admin API, and a sign-in client
        # relays any role of whoever signs in: whoever controls its redirect URIs could
        # collect other roles' tokens. Only the server's own console (``admin_signin``,
        # registered and kept by the server, never by an administrator) asks for them.
        raise ClientError(
            "administrator scopes are for service accounts (client_credentials); people "
            "sign in to administer through the console"
        )
    if role_scopes.ADMIN_SCOPES.intersection(scopes) and pairwise_sector:
        # The admin API knows a person by the token's sub: it must be the person's own id.
        raise ClientError("clients with administrator scopes use public subjects (no pairwise)")
    if (
        role_scopes.ORG_ADMIN_SCOPE in scopes
        and "client_credentials" in grant_types
        and not (owner_organisation_id)
    ):
        raise ClientError("a service account with org:admin needs an owning organisation")
    if owner_organisation_id is not None:
        owner = repository.organisation(session, owner_organisation_id)
        if owner is None or owner.disabled:
            raise ClientError(f"there is no active organisation {owner_organisation_id!r}")
        owner_organisation_id = owner.id
    redirect_uris = [
        check_uri(u, what="redirect URI", loopback_http=True) for u in redirect_uris or []
    ]
    logout_uris = [
        check_uri(u, what="post-logout redirect URI", loopback_http=True)
        for u in post_logout_redirect_uris or []
    ]
    if backchannel_logout_uri:
        # This server posts to it: plain http to loopback only where the caller allows it
        # (demo mode, tests), never by default (a registered URI must not reach local services).
        check_uri(
            backchannel_logout_uri,
            what="back-channel logout URI",
            loopback_http=loopback_server_uris,
        )
    if "authorization_code" in grant_types:
        if not redirect_uris:
            raise ClientError("the authorization code flow needs at least one redirect URI")
        if "openid" not in scopes:
            raise ClientError("clients of the authorization code flow need the openid scope")
    elif redirect_uris:
        raise ClientError("redirect URIs only make sense with the authorization_code grant")
    if method == "none" and (
        "client_credentials" in grant_types or "authorization_code" not in grant_types
    ):
        raise ClientError(
            "public clients (auth method none) only use the authorization code "
            "flow (with refresh tokens)"
        )
    if len(name) > 128:
        raise ClientError("the client name is too long")
    if method == "private_key_jwt":
        if not jwks_uri:
            raise ClientError("private_key_jwt needs --jwks-uri")
        check_uri(jwks_uri, what="jwks_uri", loopback_http=loopback_server_uris)
    elif jwks_uri:
        raise ClientError("--jwks-uri is only for private_key_jwt clients")
    if id_token_alg not in (None, "ES256", "RS256"):
        raise ClientError("the ID token algorithm must be ES256 or RS256")
    extra: dict[str, object] = {}
    if first_party:  # the city's own apps skip the consent page; others ask once per scope
        extra["first_party"] = True
    if admin_signin:
        extra["admin_signin"] = True
    if id_token_alg:
        extra["id_token_signed_response_alg"] = id_token_alg
    clear: str | None = None
    digest: bytes | None = None
    if method in ("client_secret_basic", "client_secret_post"):
        if secret is not None:
            try:
                client_secrets.check_strength(secret)
            except client_secrets.WeakSecret as exc:
                raise ClientError(str(exc)) from None
        clear = secret or client_secrets.generate()
        digest = client_secrets.digest(
            clear, key=data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
        )
    elif secret is not None:
        raise ClientError(f"clients authenticating with {method} have no secret")
    client = Client(
        client_id=client_id,
        name=name.strip() or client_id,
        auth_method=method,
        secret_digest=digest,
        jwks_uri=jwks_uri,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=logout_uris,
        backchannel_logout_uri=backchannel_logout_uri,
        grant_types=list(dict.fromkeys(grant_types)),
        scopes=list(dict.fromkeys(scopes)),
        pairwise_sector=pairwise_sector,
        extra=extra,
        disabled=False,
        owner_organisation_id=owner_organisation_id,
        min_level=_min_level(min_level),
        created_at=datetime.now(UTC),
    )
    try:
        with session.begin_nested():
            session.add(client)
    except IntegrityError:
        raise ClientError(f"client {client_id!r} exists already") from None
    events.record(
        session,
        type="client.created",
        actor=actor,
        subject=client_id,
        details={
            "auth_method": method,
            "grant_types": client.grant_types,
            "redirect_uris": redirect_uris,
            "scopes": client.scopes,
            "first_party": first_party,
            "owner_organisation_id": owner_organisation_id,
            "pairwise_sector": pairwise_sector,
            "min_level": client.min_level,
        },
    )
    return client, (clear if secret is None else None)


def _min_level(level: int | None) -> int | None:
    """A client's minimum level of assurance (None: no minimum)."""
    if level is None or level == 1:
        return None
    if level not in PROOFING_LEVELS:
        raise ClientError("a minimum level is 1, 2, 3 or 4")
    return level


def rotate_secret(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    client_id: str,
    actor: str,
    secret: str | None = None,
) -> str | None:
    """Replace a confidential client's secret; returns the new one when generated."""
    client = _client(session, client_id)
    if client.auth_method not in ("client_secret_basic", "client_secret_post"):
        raise ClientError(f"client {client_id!r} does not authenticate with a secret")
    if secret is not None:
        try:
            client_secrets.check_strength(secret)
        except client_secrets.WeakSecret as exc:
            raise ClientError(str(exc)) from None
    clear = secret or client_secrets.generate()
    client.secret_digest = client_secrets.digest(
        clear, key=data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
    )
    client.secret_rotated_at = datetime.now(UTC)
    events.record(session, type="client.secret_rotated", actor=actor, subject=client_id, details={})
    return clear if secret is None else None


def set_disabled(
    session: Session, *, events: EventRecorder, client_id: str, disabled: bool, actor: str
) -> Client:
    """Disable (or re-enable) a client."""
    client = _client(session, client_id)
    client.disabled = disabled
    events.record(
        session,
        type="client.disabled" if disabled else "client.enabled",
        actor=actor,
        subject=client_id,
        details={},
    )
    return client


def update(
    session: Session,
    *,
    events: EventRecorder,
    client: Client,
    actor: str,
    name: str | None = None,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    min_level: int | Literal["keep"] | None = "keep",
) -> list[str]:
    """Rename a client or replace its browser redirect URIs, under the rules of
    :func:`register`; returns the names of the fields that changed."""
    changed: dict[str, object] = {}
    if name is not None:
        if not name.strip() or len(name) > 128:
            raise ClientError("a client name has 1-128 characters")
        changed["name"] = name.strip()
    if redirect_uris is not None:
        uris = [check_uri(u, what="redirect URI", loopback_http=True) for u in redirect_uris]
        if "authorization_code" in client.grant_types and not uris:
            raise ClientError("the authorization code flow needs at least one redirect URI")
        if "authorization_code" not in client.grant_types and uris:
            raise ClientError("redirect URIs only make sense with the authorization_code grant")
        changed["redirect_uris"] = list(dict.fromkeys(uris))
    if post_logout_redirect_uris is not None:
        changed["post_logout_redirect_uris"] = list(
            dict.fromkeys(
                check_uri(u, what="post-logout redirect URI", loopback_http=True)
                for u in post_logout_redirect_uris
            )
        )
    if min_level != "keep":
        changed["min_level"] = _min_level(min_level)
    changed = {k: v for k, v in changed.items() if getattr(client, k) != v}
    for field, value in changed.items():
        setattr(client, field, value)
    if changed:
        events.record(
            session,
            type="client.updated",
            actor=actor,
            subject=client.client_id,
            details={k: v for k, v in changed.items()},
        )
    return sorted(changed)


def _client(session: Session, client_id: str) -> Client:
    client = repository.client(session, client_id)
    if client is None:
        raise ClientError(f"no client {client_id!r}")
    return client
