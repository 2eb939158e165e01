"""Upstream OpenID providers (the provincial platform) people may sign in through: their
registration by administrators, and their client secret at rest.

Security contract: the client secret is sealed under the ``upstream-secret`` data key
(AES-256-GCM, the provider's id as associated data), never stored, returned or logged in
clear; the expected issuer is the discovery URL without ``/.well-known/openid-configuration``
(OpenID Connect Discovery 1.0 §4.3: the document must name exactly it, checked when it is
fetched, :mod:`idp.upstream_metadata`); discovery URLs are https, or http to a loopback
address (development), never to a link-local address literal (169.254.0.0/16, fe80::/10);
every change is an audit event in the same transaction (the secret never in it). This module
does not decide who may configure upstreams (``admin.upstreams``).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp.assurance import LEVELS, RFC8176_AMR
from idp.models import PROOFING_LEVELS, UpstreamProvider
from idp.protocol.oidc_rp import endpoint_allowed
from idp.ticket_bridge import MAPPINGS, TicketPlatform
from keys.data_keys import DataKeys

DATA_KEY_PURPOSE = "upstream-secret"
WELL_KNOWN = "/.well-known/openid-configuration"
CLAIMS = ("name", "national_id", "phone")  # what a claim map may name
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")


class UpstreamError(ValueError):
    """An upstream's registration was refused; the message says why (no secret in it)."""


class UpstreamExists(UpstreamError):
    """An upstream with this id or issuer is registered already."""


def _secure(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    secure = endpoint_allowed(url, allow_loopback_http=True)
    return secure and bool(parts.netloc) and not parts.query and not parts.fragment


def issuer_of(discovery_url: str, protocol: str = "oidc") -> str:
    """The issuer a discovery URL belongs to (Discovery §4), or a ticket platform's base
    URL; :class:`UpstreamError` when it is not one."""
    if not _secure(discovery_url):
        raise UpstreamError("the discovery URL must be https (http only to a loopback address)")
    if protocol != "oidc":
        if len(discovery_url) > 512:
            raise UpstreamError("the base URL is too long")
        return discovery_url.rstrip("/")
    if not urlsplit(discovery_url).path.endswith(WELL_KNOWN) or len(discovery_url) > 512:
        raise UpstreamError(f"the discovery URL must end with {WELL_KNOWN}")
    return discovery_url.removesuffix(WELL_KNOWN)


def _checked_maps(
    claim_map: dict[str, str], acr_map: dict[str, int], amr_map: dict[str, str]
) -> None:
    if set(claim_map) - set(CLAIMS) or not all(
        isinstance(v, str) and 0 < len(v) <= 64 for v in claim_map.values()
    ):
        raise UpstreamError(f"the claim map names {', '.join(CLAIMS)} with claim names")
    if not all(isinstance(v, int) and v in LEVELS for v in acr_map.values()):
        raise UpstreamError("the acr map gives each upstream acr a level 1-4")
    if not all(v in RFC8176_AMR for v in amr_map.values()):
        raise UpstreamError("the amr map gives each upstream amr an RFC 8176 value")


def create(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    actor: str,
    upstream_id: str,
    name_zh: str,
    name_en: str,
    discovery_url: str,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    claim_map: dict[str, str],
    acr_map: dict[str, int],
    amr_map: dict[str, str] | None = None,
    trusted_proofing_level: int | None = None,
    protocol: str = "oidc",
) -> UpstreamProvider:
    """Register an upstream provider (enabled): ``protocol`` "oidc" (``discovery_url`` its
    discovery document), or "ticket:<mapping>" (``discovery_url`` the platform's base URL,
    ``client_id`` and ``client_secret`` its app id and secret)."""
    if not _ID.match(upstream_id):
        raise UpstreamError("an upstream id has 2-32 characters: a-z, 0-9, '-'")
    mappings = [f"ticket:{name}" for name in MAPPINGS]
    if protocol not in ("oidc", *mappings):
        raise UpstreamError(f"the protocol is oidc or one of {', '.join(mappings)}")
    issuer = issuer_of(discovery_url, protocol)
    if not name_zh.strip() or not name_en.strip() or max(len(name_zh), len(name_en)) > 128:
        raise UpstreamError("the display names (zh and en) have 1-128 characters")
    if not client_id or len(client_id) > 255 or not client_secret or len(client_secret) > 512:
        raise UpstreamError("the client id and secret are needed (at most 255/512 characters)")
    scopes = list(dict.fromkeys(s for s in scopes if s))
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    amr_map = dict(amr_map or {})
    _checked_maps(claim_map, acr_map, amr_map)
    if trusted_proofing_level is not None and trusted_proofing_level not in PROOFING_LEVELS[1:]:
        raise UpstreamError("a trusted identity number earns proofing level 2, 3 or 4")
    if session.get(UpstreamProvider, upstream_id) is not None:
        raise UpstreamExists(f"an upstream {upstream_id!r} exists")
    if session.scalars(select(UpstreamProvider).where(UpstreamProvider.issuer == issuer)).first():
        raise UpstreamExists("an upstream with this issuer exists")
    now = datetime.now(UTC)
    upstream = UpstreamProvider(
        id=upstream_id,
        protocol=protocol,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        discovery_url=discovery_url,
        issuer=issuer,
        client_id=client_id,
        secret_sealed=_seal(data_keys.get(session, DATA_KEY_PURPOSE), upstream_id, client_secret),
        scopes=scopes,
        claim_map=dict(claim_map),
        acr_map=dict(acr_map),
        amr_map=amr_map,
        trusted_proofing_level=trusted_proofing_level,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(upstream)
    session.flush()
    events.record(
        session,
        type="upstream.created",
        actor=actor,
        subject=upstream_id,
        details={k: v for k, v in view(upstream).items() if k not in ("created_at", "id")},
    )
    return upstream


def set_disabled(
    session: Session, *, events: EventRecorder, actor: str, upstream_id: str, disabled: bool
) -> UpstreamProvider:
    """Disable (its button disappears, its callbacks are refused) or enable an upstream."""
    upstream = session.get(UpstreamProvider, upstream_id, with_for_update=True)
    if upstream is None:
        raise LookupError(upstream_id)
    if upstream.disabled != disabled:
        upstream.disabled = disabled
        upstream.updated_at = datetime.now(UTC)
        events.record(
            session,
            type="upstream.disabled" if disabled else "upstream.enabled",
            actor=actor,
            subject=upstream_id,
            details={"issuer": upstream.issuer},
        )
    return upstream


def all_upstreams(session: Session) -> list[UpstreamProvider]:
    """Every registered upstream, by id."""
    return list(session.scalars(select(UpstreamProvider).order_by(UpstreamProvider.id)).all())


def enabled(session: Session) -> list[UpstreamProvider]:
    """The upstreams offered on the sign-in page."""
    return [u for u in all_upstreams(session) if not u.disabled]


def client_secret(session: Session, *, data_keys: DataKeys, upstream: UpstreamProvider) -> str:
    """The clear client secret (for the token request, or a ticket's redemption, only)."""
    key = data_keys.get(session, DATA_KEY_PURPOSE)
    sealed = upstream.secret_sealed
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], upstream.id.encode()).decode()


def ticket_platform(
    session: Session, *, data_keys: DataKeys, upstream: UpstreamProvider
) -> TicketPlatform | None:
    """The ticket platform of a ticket-style upstream (None for an OpenID one)."""
    if not upstream.protocol.startswith("ticket:"):
        return None
    mapping = MAPPINGS[upstream.protocol.removeprefix("ticket:")]
    secret = client_secret(session, data_keys=data_keys, upstream=upstream)
    return mapping(base_url=upstream.issuer, app_id=upstream.client_id, app_secret=secret)


def view(upstream: UpstreamProvider) -> dict[str, Any]:
    """What administrators see of an upstream (never its secret)."""
    return {
        "id": upstream.id,
        "protocol": upstream.protocol,
        "name_zh": upstream.name_zh,
        "name_en": upstream.name_en,
        "discovery_url": upstream.discovery_url,
        "issuer": upstream.issuer,
        "client_id": upstream.client_id,
        "scopes": list(upstream.scopes),
        "claim_map": dict(upstream.claim_map),
        "acr_map": dict(upstream.acr_map),
        "amr_map": dict(upstream.amr_map),
        "trusted_proofing_level": upstream.trusted_proofing_level,
        "disabled": upstream.disabled,
        "created_at": upstream.created_at.isoformat(),
    }


def _seal(key: bytes, upstream_id: str, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode(), upstream_id.encode())
