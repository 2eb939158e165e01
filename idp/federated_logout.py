"""Logout across an upstream provider, both ways: our logout continues at the upstream's
end-session endpoint (OIDC RP-Initiated Logout 1.0 §2), and the upstream's back-channel
logout token (Back-Channel Logout 1.0 §2.5-2.6) ends the sessions it opened here.

Security contract: the browser is sent to the upstream's end-session endpoint only for a
session that came from that upstream, with the ID token the upstream issued for it as
``id_token_hint`` and our fixed landing URI as ``post_logout_redirect_uri``; where the
browser goes after the landing is stored server-side under a single-use ``state`` (ten
minutes), so the landing is no open redirect. A logout token is checked by
:func:`idp.protocol.oidc_rp.logout_token_claims`, its ``jti`` is accepted once per upstream
(kept in the shared store for the token's acceptable age), and it ends only sessions that
came from that upstream with its ``sid`` (or, without one, its ``sub``); each end is an
audit event, and what the session granted is revoked as for any logout (the caller
delivers our own back-channel tokens).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode, urlsplit

from idp import logout, upstream_token, upstreams
from idp.federation import enabled_upstream
from idp.models import UpstreamLink
from idp.protocol import oidc_rp
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession
from idp.upstream_metadata import UpstreamUnavailable

log = logging.getLogger("tongxing.idp.federation")

LANDING_TTL = 600
JTI_TTL = oidc_rp.MAX_AGE + 2 * oidc_rp.LEEWAY


class LogoutTokenRefused(ValueError):
    """The logout token is not acceptable (Back-Channel Logout §2.8: answer 400)."""


def landing_uri(idp: IdentityProvider, upstream_id: str) -> str:
    """Where the upstream sends the browser back after its logout."""
    return f"{idp.issuer}/login/upstream/{upstream_id}/logged-out"


def end_session_url(idp: IdentityProvider, ended: SsoSession, *, then: str) -> str | None:
    """The upstream's end-session URL for an ended session that came from it (the browser
    comes back to our landing, which sends it on to ``then``), or None."""
    info = ended.upstream
    if not info or "id" not in info:
        return None
    upstream = enabled_upstream(idp, info["id"])
    if upstream is None:
        return None
    with idp.database.reading() as session:
        platform = upstreams.ticket_platform(session, data_keys=idp.data_keys, upstream=upstream)
    if platform is not None:  # a ticket platform: its logout, back to our landing
        back = f"{landing_uri(idp, upstream.id)}?{urlencode({'state': _remember(idp, then)})}"
        return platform.logout_url(service=back)
    try:
        endpoint = idp.upstream_directory.metadata(upstream).end_session_endpoint
    except UpstreamUnavailable:
        return None
    if endpoint is None:
        return None
    state = _remember(idp, then)
    query = {
        "id_token_hint": upstream_token.open_sealed(
            idp, info.get("id_token", ""), upstream_id=upstream.id
        ),
        "client_id": upstream.client_id,
        "post_logout_redirect_uri": landing_uri(idp, upstream.id),
        "state": state,
    }
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode({k: v for k, v in query.items() if v})


def _remember(idp: IdentityProvider, then: str) -> str:
    state = secrets.token_urlsafe(24)
    idp.store.set(idp.store.key("idp", "upstream-landing", state), then.encode(), ttl=LANDING_TTL)
    return state


def end_session_origin(idp: IdentityProvider, sso: SsoSession) -> str | None:
    """The origin of the upstream's end-session endpoint a logout of ``sso`` goes on to
    (our confirmation form's CSP must allow it), or None."""
    info = sso.upstream
    upstream = enabled_upstream(idp, info["id"]) if info and "id" in info else None
    if upstream is None:
        return None
    if upstream.protocol != "oidc":
        parts = urlsplit(upstream.issuer)
        return f"{parts.scheme}://{parts.netloc}"
    try:
        endpoint = idp.upstream_directory.metadata(upstream).end_session_endpoint
    except UpstreamUnavailable:
        return None
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def after_upstream(idp: IdentityProvider, *, state: str | None) -> str | None:
    """Where to send the browser back from the upstream's logout (taken once), or None."""
    if not state or len(state) > 64:
        return None
    then = idp.store.take(idp.store.key("idp", "upstream-landing", state))
    return then.decode() if then is not None else None


def backchannel(idp: IdentityProvider, *, upstream_id: str, token: str) -> list[logout.Delivery]:
    """End the sessions the upstream's logout token names; returns our own back-channel
    deliveries to make. Raises :class:`LogoutTokenRefused`."""
    upstream = enabled_upstream(idp, upstream_id)
    if upstream is None:
        raise LogoutTokenRefused("unknown upstream")
    try:
        metadata = idp.upstream_directory.metadata(upstream)
        claims = oidc_rp.logout_token_claims(
            token,
            keys=idp.upstream_directory.key_loader(metadata),
            algorithms=metadata.algorithms,
            issuer=upstream.issuer,
            client_id=upstream.client_id,
        )
    except (UpstreamUnavailable, oidc_rp.UpstreamTokenError) as exc:
        # Anyone can post here: a token that does not verify is logged, not audited one by
        # one (a verified one ends sessions, and that is audited).
        log.warning(
            "upstream logout token refused",
            extra={"upstream": upstream_id[:64], "reason": str(exc)[:200]},
        )
        raise LogoutTokenRefused(str(exc)) from None
    jti_key = idp.store.key("idp", "upstream-logout-jti", f"{upstream_id}:{claims['jti']}")
    if not idp.store.set(jti_key, b"1", ttl=JTI_TTL, only_if_absent=True):
        raise LogoutTokenRefused("the logout token was used before")
    sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
    sub = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    users: set[str] = set()
    if sub is not None:
        with idp.database.reading() as session:
            link = session.get(UpstreamLink, (upstream.issuer, sub))
            if link is not None:
                users.add(link.user_id)
    if sid is not None:
        found = idp.store.get(idp.store.key("idp", "upstream-sid", f"{upstream_id}:{sid}"))
        if found is not None:
            users.add(found.decode())
    deliveries: list[logout.Delivery] = []
    for user_id in users:
        for reference, sso in idp.sessions.of_user(user_id):
            info = sso.upstream or {}
            if info.get("id") != upstream_id:
                continue
            if sid is not None and info.get("sid") != sid:
                continue
            if sub is not None and info.get("sub") != sub:
                continue
            ended = idp.sessions.end_by_reference(user_id, reference)
            if ended is not None:
                deliveries += logout.ended(
                    idp, ended, actor=f"upstream:{upstream_id}", reason="upstream-backchannel"
                )
    return deliveries
