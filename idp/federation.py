"""Signing in through an upstream OpenID provider (the provincial platform): the code flow
with PKCE to it, and what its verified answer makes of our accounts and sessions.

Security contract: the authorization request carries PKCE (S256), a ``state`` and a
``nonce``; the state lives in the shared store for ten minutes, bound to the browser, the
upstream and the waiting interaction, and is taken once (any app process may receive the
callback); a callback naming another upstream (``iss``, RFC 9207) or a state of another
browser is refused. The code is redeemed at the upstream's token endpoint and the ID token
checked by :func:`idp.protocol.oidc_rp.id_token_claims`. A person is found by the stored
link (issuer + ``sub``); otherwise, only when the upstream is trusted for identity numbers,
by the keyed digest of its verified identity number — and an account found that way that
has a password is linked only after its holder types that password here (attempts limited
like the password sign-in); otherwise a person is created, at the trusted proofing level
when the identity number is trusted, else at level 1. The session's methods are
``fed:<level>`` (the upstream's ``acr`` through the administrator's map, level 1 when
unmapped) and the mapped ``amr`` values, so its ``acr`` never exceeds the person's
proofing level (:mod:`idp.assurance`). The app's ``prompt=login`` and ``max_age`` pass on
upstream; with ``max_age`` the ID token's ``auth_time`` must be present and no older (30 s
leeway), and the session's ``auth_time`` is the upstream's (never later than now); a ticket
platform, which cannot prove a fresh sign-in, is refused such a request. Every refusal is a
``login.upstream_failed`` audit event and opens no session; identity numbers are never
logged (masked in audit events).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.stored import read_record
from idp import federated_accounts, passwords, repository, upstream_answer, upstreams
from idp.checks import max_age as max_age_rule
from idp.errors import InvalidRequest
from idp.login import Opened, open_session
from idp.models import UpstreamLink, UpstreamProvider, User
from idp.protocol import oidc_rp, rfc7636
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession
from idp.ticket_bridge import BridgeError, TicketPlatform
from idp.upstream_metadata import UpstreamUnavailable

log = logging.getLogger("tongxing.idp.federation")
STATE_TTL = 600
CONFIRM_TTL = 600


def callback_uri(idp: IdentityProvider, upstream_id: str) -> str:
    """Our redirect URI registered at the upstream."""
    return f"{idp.issuer}/login/upstream/{upstream_id}/callback"


@dataclass
class _Pending:
    """A sign-in sent to an upstream, waiting for its callback."""

    upstream_id: str
    browser: str
    interaction_id: str
    nonce: str
    verifier: str
    max_age: int | None = None  # sent upstream: its ID token must then carry a fresh auth_time


@dataclass
class _Confirmation:
    """A verified upstream sign-in waiting for the found account's password."""

    upstream_id: str
    browser: str
    interaction_id: str
    subject: str
    user_id: str
    methods: list[str]
    upstream_session: dict[str, str]
    auth_time: int | None = None


@dataclass(frozen=True)
class SignedIn:
    """The person is signed in; continue the interaction."""

    opened: Opened
    interaction_id: str


@dataclass(frozen=True)
class ConfirmPassword:
    """An existing account matched by identity number: its holder must type its password."""

    token: str
    interaction_id: str
    username: str
    failed: bool = False


@dataclass(frozen=True)
class Refused:
    """No session: ``reason`` names the text shown (``state``, ``upstream``, ``token``,
    ``disabled``, ``unavailable``, ``locked``, ``fresh``)."""

    reason: str
    interaction_id: str | None = None


def _key(idp: IdentityProvider, purpose: str, ident: str) -> str:
    return idp.store.key("idp", purpose, ident)


def enabled_upstream(idp: IdentityProvider, upstream_id: str) -> UpstreamProvider | None:
    with idp.database.reading() as session:
        found = session.get(UpstreamProvider, upstream_id)
        if found is not None:
            session.expunge(found)
    return found if found is not None and not found.disabled else None


def _platform(idp: IdentityProvider, upstream: UpstreamProvider) -> TicketPlatform | None:
    with idp.database.reading() as session:
        return upstreams.ticket_platform(session, data_keys=idp.data_keys, upstream=upstream)


def _service(idp: IdentityProvider, upstream_id: str, state: str) -> str:
    """A ticket platform's service URL: our callback, naming the state."""
    return f"{callback_uri(idp, upstream_id)}?{urlencode({'state': state})}"


def _freshness(params: dict[str, str]) -> tuple[bool, int | None]:
    """Whether the app's request asks ``prompt=login``, and its ``max_age``."""
    try:
        max_age = max_age_rule.check(params)
    except InvalidRequest:
        max_age = None
    return "login" in params.get("prompt", "").split(), max_age


def start(
    idp: IdentityProvider,
    *,
    upstream_id: str,
    browser: str,
    interaction_id: str,
    switch: bool = False,
) -> str | Refused | None:
    """The upstream's authorization URL for this browser's interaction (None when the
    upstream is unknown or disabled, or ``switch`` is asked of an OpenID upstream: only
    ticket platforms switch to an enterprise account); raises :class:`UpstreamUnavailable`.
    The interaction's ``prompt=login`` and ``max_age`` pass on to an OpenID upstream (Core
    §3.1.2.1); a ticket platform cannot prove a fresh sign-in, so it is refused for them."""
    upstream = enabled_upstream(idp, upstream_id)
    if upstream is None:
        return None
    platform = _platform(idp, upstream)
    if switch and platform is None:
        return None
    interaction = idp.interactions.get(interaction_id, browser=browser)
    fresh_login, max_age = _freshness(interaction.params if interaction is not None else {})
    if platform is not None and (fresh_login or max_age is not None):
        return _failed(
            idp,
            upstream_id=upstream_id,
            reason="fresh",
            detail="prompt=login or max_age asked of a ticket platform",
            interaction=interaction_id,
        )
    metadata = idp.upstream_directory.metadata(upstream) if platform is None else None
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    pending = _Pending(
        upstream_id=upstream_id,
        browser=browser,
        interaction_id=interaction_id,
        nonce=secrets.token_urlsafe(24),
        verifier=verifier,
        max_age=max_age,
    )
    idp.store.set(
        _key(idp, "upstream-state", state), json.dumps(asdict(pending)).encode(), ttl=STATE_TTL
    )
    if platform is not None:
        return platform.login_url(service=_service(idp, upstream_id, state), switch=switch)
    assert metadata is not None
    query = {
        "response_type": "code",
        "client_id": upstream.client_id,
        "redirect_uri": callback_uri(idp, upstream_id),
        "scope": " ".join(upstream.scopes),
        "state": state,
        "nonce": pending.nonce,
        "code_challenge": rfc7636.s256(verifier),
        "code_challenge_method": "S256",
    }
    if fresh_login:
        query["prompt"] = "login"
    if max_age is not None:
        query["max_age"] = str(max_age)
    if upstream.acr_map:  # Core §3.1.2.1: the levels we map, strongest first
        ranked = sorted(upstream.acr_map, key=lambda v: -upstream.acr_map[v])
        query["acr_values"] = " ".join(ranked)
    if metadata.claims_parameter:  # ask for acr and amr in the ID token (Core §5.5.1)
        query["claims"] = json.dumps({"id_token": {"acr": None, "amr": None}})
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return metadata.authorization_endpoint + separator + urlencode(query)


def _failed(
    idp: IdentityProvider, *, upstream_id: str, reason: str, detail: str, interaction: str | None
) -> Refused:
    with idp.database.transaction() as session:
        idp.events.record(
            session,
            type="login.upstream_failed",
            actor="anonymous",
            subject=f"upstream:{upstream_id}",
            details={"reason": reason, "detail": detail[:200]},
        )
    return Refused(reason=reason, interaction_id=interaction)


def finish(
    idp: IdentityProvider,
    *,
    upstream_id: str,
    params: dict[str, str],
    browser: str | None,
    address: str,
    user_agent: str,
    handle: str | None,
) -> SignedIn | ConfirmPassword | Refused:
    """Handle the upstream's callback (its query ``params``)."""
    state = params.get("state", "")
    raw = idp.store.take(_key(idp, "upstream-state", state)) if 0 < len(state) <= 64 else None
    pending = read_record(_Pending, raw) if raw is not None else None
    if (
        pending is None
        or browser is None
        or not secrets.compare_digest(pending.browser, browser)
        or pending.upstream_id != upstream_id
    ):
        # No sign-in of ours is behind it (anyone can call the callback): logged, not audited
        # one by one; a state that was ours is spent all the same.
        log.info("upstream callback without a valid state", extra={"upstream": upstream_id[:64]})
        return Refused(reason="state", interaction_id=None)
    interaction = pending.interaction_id
    upstream = enabled_upstream(idp, upstream_id)
    if upstream is None:
        return _failed(
            idp, upstream_id=upstream_id, reason="disabled", detail="", interaction=interaction
        )
    platform = _platform(idp, upstream)
    if platform is not None:
        bridged = _bridged(idp, platform, upstream, state=state, ticket=params.get("ticket"))
        if isinstance(bridged, str):
            return _failed(
                idp,
                upstream_id=upstream_id,
                reason="upstream",
                detail=bridged,
                interaction=interaction,
            )
        claims, session_info = bridged
        return _finish_as(
            idp,
            upstream,
            claims,
            session_info,
            browser=browser,
            interaction=interaction,
            address=address,
            user_agent=user_agent,
            handle=handle,
        )
    try:
        promised_iss = idp.upstream_directory.metadata(upstream).iss_parameter
    except UpstreamUnavailable as exc:
        return _failed(
            idp,
            upstream_id=upstream_id,
            reason="unavailable",
            detail=str(exc),
            interaction=interaction,
        )
    # RFC 9207 §2.4: the issuer it names must be this upstream's, and present when promised.
    if params.get("iss", upstream.issuer) != upstream.issuer or (
        promised_iss and "iss" not in params
    ):
        return _failed(
            idp, upstream_id=upstream_id, reason="state", detail="iss", interaction=interaction
        )
    if "error" in params or not params.get("code"):
        detail = params.get("error", "no code")
        return _failed(
            idp, upstream_id=upstream_id, reason="upstream", detail=detail, interaction=interaction
        )
    try:
        claims, session_info = upstream_answer.verified(
            idp,
            upstream,
            code=params["code"],
            redirect_uri=callback_uri(idp, upstream.id),
            verifier=pending.verifier,
            nonce=pending.nonce,
            max_age=pending.max_age,
        )
    except UpstreamUnavailable as exc:
        return _failed(
            idp,
            upstream_id=upstream_id,
            reason="unavailable",
            detail=str(exc),
            interaction=interaction,
        )
    except oidc_rp.UpstreamTokenError as exc:
        return _failed(
            idp, upstream_id=upstream_id, reason="token", detail=str(exc), interaction=interaction
        )
    return _finish_as(
        idp,
        upstream,
        claims,
        session_info,
        browser=browser,
        interaction=interaction,
        address=address,
        user_agent=user_agent,
        handle=handle,
    )


def _bridged(
    idp: IdentityProvider,
    platform: TicketPlatform,
    upstream: UpstreamProvider,
    *,
    state: str,
    ticket: str | None,
) -> tuple[dict[str, Any], dict[str, str]] | str:
    """A ticket platform's user for ``ticket`` as claims (``sub`` its user id) and the
    session details, or why not."""
    if not ticket or len(ticket) > 512:
        return "no ticket"
    try:
        token = platform.redeem(ticket=ticket, service=_service(idp, upstream.id, state))
        user = platform.user_info(token=token)
    except BridgeError as exc:
        return str(exc)
    info = {"id": upstream.id, "sub": user.subject, "protocol": upstream.protocol}
    if user.organisation_uscc:
        info["org"] = user.organisation_uscc
    return {**user.claims, "sub": user.subject}, info


def _finish_as(
    idp: IdentityProvider,
    upstream: UpstreamProvider,
    claims: dict[str, Any],
    session_info: dict[str, str],
    *,
    browser: str,
    interaction: str,
    address: str,
    user_agent: str,
    handle: str | None,
) -> SignedIn | ConfirmPassword | Refused:
    """The verified upstream sign-in: find the person, ask for a password or sign in."""
    upstream_id = upstream.id
    methods = upstream_answer.methods(upstream, claims)
    auth_time = upstream_answer.auth_time(claims, max_age=None)
    subject = str(claims["sub"])
    try:
        user, confirm = federated_accounts.find(idp, upstream, claims, subject=subject)
    except (IntegrityError, federated_accounts.Raced):
        # The same person's first sign-in on another process won: its link, or its holder
        # of the identity number.
        user, confirm = federated_accounts.find(idp, upstream, claims, subject=subject)
    if user is None:
        return _failed(
            idp,
            upstream_id=upstream_id,
            reason="disabled",
            detail="account",
            interaction=interaction,
        )
    if confirm:
        token = secrets.token_urlsafe(24)
        waiting = _Confirmation(
            upstream_id=upstream_id,
            browser=browser,
            interaction_id=interaction,
            subject=subject,
            user_id=user.id,
            methods=methods,
            upstream_session=session_info,
            auth_time=auth_time,
        )
        idp.store.set(
            _key(idp, "upstream-confirm", token),
            json.dumps(asdict(waiting)).encode(),
            ttl=CONFIRM_TTL,
        )
        return ConfirmPassword(token=token, interaction_id=interaction, username=user.username)
    opened = _sign_in(
        idp,
        upstream,
        user,
        methods=methods,
        session_info=session_info,
        address=address,
        user_agent=user_agent,
        handle=handle,
        auth_time=auth_time,
    )
    return SignedIn(opened=opened, interaction_id=interaction)


def _sign_in(
    idp: IdentityProvider,
    upstream: UpstreamProvider,
    user: User,
    *,
    methods: list[str],
    session_info: dict[str, str],
    address: str,
    user_agent: str,
    handle: str | None,
    auth_time: int | None,
) -> Opened:
    opened = open_session(
        idp,
        user=user,
        methods=methods,
        address=address,
        user_agent=user_agent,
        handle=handle,
        details={"upstream": upstream.id},
        auth_time=auth_time,
    )

    organisation_id = _organisation(idp, user, session_info.get("org"))

    def remember(sso: SsoSession) -> None:
        sso.upstream = dict(session_info)
        # 法人账号切换: acting for the enterprise chosen there (as a member, never as an
        # agent); a personal sign-in drops whatever the session had chosen before.
        sso.organisation_id = organisation_id
        sso.agent_authorisation_id = None
        sso.organisation_chosen = organisation_id is not None

    updated = idp.sessions.update(opened.handle, remember)
    if "sid" in session_info:
        idp.store.set(
            _key(idp, "upstream-sid", f"{upstream.id}:{session_info['sid']}"),
            user.id.encode(),
            ttl=idp.settings.sso_session_ttl_seconds,
        )
    return Opened(session=updated or opened.session, handle=opened.handle, ended=opened.ended)


def _organisation(idp: IdentityProvider, user: User, uscc: str | None) -> str | None:
    """The organisation a ticket platform's enterprise account names, when the person is a
    member of it here (an upstream's word alone makes nobody a member)."""
    if not uscc:
        return None
    with idp.database.reading() as session:
        found = repository.organisation(session, uscc)
        if found is None or found.disabled:
            return None
        member = repository.membership(session, organisation_id=found.id, user_id=user.id)
        return found.id if member is not None else None


def pending_confirmation(
    idp: IdentityProvider, token: str, *, browser: str | None
) -> tuple[str, str] | None:
    """(interaction id, username) of a confirmation waiting in this browser, or None."""
    waiting = _confirmation(idp, token, browser=browser)
    if waiting is None:
        return None
    with idp.database.reading() as session:
        user = session.get(User, waiting.user_id)
        return (waiting.interaction_id, user.username) if user is not None else None


def _confirmation(
    idp: IdentityProvider, token: str, *, browser: str | None
) -> _Confirmation | None:
    if not token or len(token) > 64 or browser is None:
        return None
    raw = idp.store.get(_key(idp, "upstream-confirm", token))
    waiting = read_record(_Confirmation, raw) if raw is not None else None
    if waiting is None or not secrets.compare_digest(waiting.browser, browser):
        return None
    return waiting


def confirm(
    idp: IdentityProvider,
    *,
    token: str,
    browser: str | None,
    password: str,
    address: str,
    user_agent: str,
    handle: str | None,
) -> SignedIn | ConfirmPassword | Refused:
    """The matched account's holder typed ``password``: link and sign in, or say it failed."""
    waiting = _confirmation(idp, token, browser=browser)
    if waiting is None:
        return Refused(reason="state")
    with idp.database.reading() as session:
        user = session.get(User, waiting.user_id)
        if user is not None:
            session.expunge(user)
    upstream = enabled_upstream(idp, waiting.upstream_id)
    if user is None or user.disabled or upstream is None:
        return Refused(reason="disabled", interaction_id=waiting.interaction_id)
    account = f"user:{user.id}"
    refusal = idp.limits.begin(account=account, address=address)
    if refusal is not None:
        return Refused(reason="locked", interaction_id=waiting.interaction_id)
    matches, _ = passwords.verify_password(user.password_hash, password)
    if not matches:
        idp.limits.failed(account=account)
        with idp.database.transaction() as session:
            idp.events.record(
                session,
                type="upstream.link_refused",
                actor=user.id,
                subject=user.id,
                details={"upstream": upstream.id, "address": address},
            )
        return ConfirmPassword(
            token=token, interaction_id=waiting.interaction_id, username=user.username, failed=True
        )
    idp.limits.succeeded(account=account, address=address)
    if idp.store.take(_key(idp, "upstream-confirm", token)) is None:
        return Refused(reason="state", interaction_id=waiting.interaction_id)
    with idp.database.transaction() as session:
        exists = session.scalars(
            select(UpstreamLink).where(
                UpstreamLink.issuer == upstream.issuer, UpstreamLink.subject == waiting.subject
            )
        ).first()
        if exists is None:
            federated_accounts.link(idp, session, upstream, subject=waiting.subject, user=user)
    opened = _sign_in(
        idp,
        upstream,
        user,
        methods=waiting.methods,
        session_info=waiting.upstream_session,
        address=address,
        user_agent=user_agent,
        handle=handle,
        auth_time=waiting.auth_time,
    )
    return SignedIn(opened=opened, interaction_id=waiting.interaction_id)


def pending_upstream(
    idp: IdentityProvider, token: str, *, browser: str | None
) -> UpstreamProvider | None:
    """The upstream of a confirmation waiting in this browser (for its name), or None."""
    waiting = _confirmation(idp, token, browser=browser)
    return enabled_upstream(idp, waiting.upstream_id) if waiting is not None else None
