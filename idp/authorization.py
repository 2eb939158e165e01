"""The authorization endpoint's steps (OIDC Core §3.1.2): validate, then sign-in,
organisation choice and consent as needed, then a code — or an error for the client.

Framework-free: the router turns each :class:`Step` into a page or a redirect.

Security contract: nothing is sent to a redirect URI before the client and the exact
redirect URI are verified (those errors become :class:`ErrorPage`); afterwards every error
is returned to the client with ``state`` and ``iss`` (RFC 9207). ``prompt=none`` never shows
a page: it answers ``login_required``, ``interaction_required`` or ``consent_required``.
``prompt=login`` and ``max_age`` force a fresh sign-in inside this very interaction, so the
new ``auth_time`` is later than the old one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from core.store import StoreUnavailable
from idp import agents, assurance, checks, consents, repository, role_scopes, step_up
from idp.checks.max_age import login_needed
from idp.codes import CodeGrant
from idp.errors import (
    ConsentRequired,
    InteractionRequired,
    InvalidRequest,
    LoginRequired,
    OAuthError,
    TemporarilyUnavailable,
    UnmetAuthenticationRequirements,
    UntrustedRedirect,
)
from idp.interactions import Interaction
from idp.models import Client, User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession


@dataclass(frozen=True)
class ErrorPage:
    """Shown on our own page: the client or redirect URI cannot be trusted."""

    description: str


@dataclass(frozen=True)
class Redirect:
    """Send the browser to the client with a code or an error."""

    location: str


@dataclass(frozen=True)
class ShowLogin:
    """The person must sign in."""

    interaction: Interaction
    client: Client | None  # None for a CAS service (idp.cas)


@dataclass(frozen=True)
class ShowOrganisation:
    """The person picks whom they act for: themselves, an organisation they belong to, or
    one that authorised them as its agent (经办人) for this client."""

    interaction: Interaction
    client: Client | None  # None for a CAS service (idp.cas)
    choices: list[agents.Choice]


@dataclass(frozen=True)
class ShowFactor:
    """The person is signed in, but not strongly enough: ask for what is missing."""

    interaction: Interaction
    client: Client | None  # None for a check of our own pages (/account/verify)
    need: step_up.Need


@dataclass(frozen=True)
class ShowConsent:
    """The person allows (or refuses) the client the scopes."""

    interaction: Interaction
    client: Client
    scopes: tuple[str, ...]


Step = ErrorPage | Redirect | ShowLogin | ShowOrganisation | ShowFactor | ShowConsent


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (keeping the registered query)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_redirect(idp: IdentityProvider, target: checks.Verified, error: OAuthError) -> Redirect:
    """An error response to a verified redirect URI (RFC 6749 §4.1.2.1, RFC 9207)."""
    return Redirect(
        with_query(
            target.redirect_uri,
            {
                "error": error.error,
                "error_description": error.description,
                "state": target.state,
                "iss": idp.issuer,
            },
        )
    )


class AuthorizationFlow:
    """Runs authorization requests for one IdP."""

    def __init__(self, idp: IdentityProvider) -> None:
        self.idp = idp

    def _find_client(self, client_id: str) -> Client | None:
        # Read afresh on every decision (a client disabled meanwhile gets nothing), as one
        # Core query: the decision only reads the registration.
        with self.idp.database.reading() as session:
            return repository.client_snapshot(session, client_id)

    def start(self, params: Mapping[str, str], *, browser: str, handle: str | None) -> Step:
        """A new authorization request from the browser."""
        return self._run(dict(params), browser=browser, handle=handle, interaction=None)

    def resume(self, interaction: Interaction, *, handle: str | None) -> Step:
        """Continue after a sign-in, an organisation choice or a consent (a CAS service's
        request continues in :class:`idp.cas.CasLogin`)."""
        from idp import cas  # idp.cas builds on this module's steps

        if cas.is_cas(interaction):
            return cas.CasLogin(self.idp).resume(interaction, handle=handle)
        return self._run(
            interaction.params, browser=interaction.browser, handle=handle, interaction=interaction
        )

    def need_beyond(
        self, interaction: Interaction, *, user: User, methods: list[str]
    ) -> step_up.Need | None:
        """What the interaction's request still needs once ``user`` proved ``methods``, before
        any session exists (:mod:`idp.first_factor`): a need signing in harder can meet, or
        None — the methods are enough, the level cannot be reached, or the request is no
        longer valid; a session is opened then and the full decision says which. Whom the
        person acts for is not chosen yet: a level that an organisation's administrator role
        adds is asked for after that choice, as a step-up of the session."""
        try:
            # The per-process client cache (a few seconds old at most) is enough here: nothing
            # is issued; the request is decided in full, from a fresh read, once signed in.
            target = checks.verify_target(interaction.params, find_client=self.idp.client)
            request = checks.validate(interaction.params, target=target)
            asked = self._asked_level(request, interaction.params)
        except (UntrustedRedirect, OAuthError):
            return None
        admin = set(request.scopes) & role_scopes.ADMIN_SCOPES
        reached = assurance.level(proofing_level=user.proofing_level, methods=list(methods))
        if not admin and reached >= asked:
            return None  # the usual password sign-in: nothing to read
        with self.idp.database.reading() as session:
            level = self._target_level(
                session, request, interaction.params, user, organisation_id=None
            )
            short = step_up.short_of(session, user=user, methods=methods, target=level)
        return short if short is not None and short.reachable else None

    def deny(self, interaction: Interaction) -> Step:
        """The person refused consent: ``access_denied`` to the client."""
        from idp.errors import AccessDenied

        self.idp.interactions.finish(interaction)
        try:
            target = checks.verify_target(interaction.params, find_client=self._find_client)
        except UntrustedRedirect as exc:
            return ErrorPage(exc.description)
        return error_redirect(self.idp, target, AccessDenied("the person refused consent"))

    def consent(
        self, interaction: Interaction, sso: SsoSession, *, handle: str, allow: bool
    ) -> Step:
        """The signed-in person allowed or refused the client the requested scopes.

        Either way an audit event records it; allowing grants only scopes registered for
        the client (and nothing for an unknown client), then the request continues;
        refusing ends it with ``access_denied`` (OIDC Core §3.1.2.6). The caller has checked
        the form's CSRF token and that ``sso`` is the browser's session.
        """
        client_id = interaction.params.get("client_id", "")
        with self.idp.database.transaction() as session:
            client = repository.client(session, client_id)
            requested = interaction.params.get("scope", "").split()
            granted = [s for s in requested if client is not None and s in client.scopes]
            if allow and client is not None:
                consents.grant(session, user_id=sso.user_id, client_id=client_id, granted=granted)
            self.idp.events.record(
                session,
                type="consent.granted" if allow else "consent.denied",
                actor=sso.user_id,
                subject=client_id,
                details={"scopes": granted, "sid": sso.sid},
            )
        if not allow:
            return self.deny(interaction)
        interaction.consented = True
        self.idp.interactions.save(interaction)
        return self.resume(interaction, handle=handle)

    def _run(
        self,
        params: dict[str, str],
        *,
        browser: str,
        handle: str | None,
        interaction: Interaction | None,
    ) -> Step:
        # One read transaction for the decision: the client (read afresh, a client disabled
        # meanwhile gets nothing), the person, memberships, consents — one session and
        # connection checkout instead of two (on PostgreSQL each checkout is also a ping).
        with self.idp.database.reading() as reads:
            find_client = partial(repository.client_snapshot, reads)
            try:
                target = checks.verify_target(params, find_client=find_client)
            except UntrustedRedirect as exc:
                return ErrorPage(exc.description)
            try:
                request = checks.validate(params, target=target)
                return self._decide(request, params, browser, handle, interaction, reads=reads)
            except OAuthError as exc:
                if interaction is not None:
                    self.idp.interactions.finish(interaction)
                return error_redirect(self.idp, target, exc)
            except StoreUnavailable:
                # The client is known and its redirect URI verified: tell it, as §4.1.2.1 says.
                return error_redirect(
                    self.idp, target, TemporarilyUnavailable("try again in a few seconds")
                )

    @staticmethod
    def _asked_level(request: checks.AuthorizationRequest, params: dict[str, str]) -> int:
        """The level the app asks (``acr_values``, an essential ``acr`` claim) or the
        client's minimum; :class:`InvalidRequest` for a malformed ``claims``."""
        try:
            asked = assurance.requirement(
                acr_values=request.acr_values,
                claims=params.get("claims"),
                client_min_level=request.client.min_level,
            )
        except assurance.ClaimsError as exc:
            raise InvalidRequest(str(exc)) from None
        return asked.level

    @staticmethod
    def _target_level(
        session: Session,
        request: checks.AuthorizationRequest,
        params: dict[str, str],
        user: User,
        *,
        organisation_id: str | None,
    ) -> int:
        """The level this request needs: what the app asks (``acr_values``, an essential
        ``acr`` claim), the client's minimum, and a second factor for administrator scopes
        the person will receive (acting in an admin role needs one)."""
        target = AuthorizationFlow._asked_level(request, params)
        admin = set(request.scopes) & role_scopes.ADMIN_SCOPES
        if admin and role_scopes.held(
            session, user_id=user.id, organisation_id=organisation_id, scopes=admin
        ):
            target = max(target, assurance.ADMIN_LEVEL)
        return target

    def _decide(
        self,
        request: checks.AuthorizationRequest,
        params: dict[str, str],
        browser: str,
        handle: str | None,
        interaction: Interaction | None,
        *,
        reads: Session,
    ) -> Step:
        idp, now = self.idp, int(time.time())
        sso = idp.sessions.get(handle)
        with nullcontext(reads) as session:  # _run's read transaction
            user = repository.user(session, sso.user_id) if sso else None
            if user is None or user.disabled:
                sso = None
            signed_in_here = interaction is not None and interaction.login_at is not None
            fresh_needed = "login" in request.prompt or (
                sso is not None
                and login_needed(max_age=request.max_age, auth_time=sso.auth_time, now=now)
            )
            if sso is None or (fresh_needed and not signed_in_here):
                if "none" in request.prompt:
                    raise LoginRequired("nobody is signed in (or the sign-in is too old)")
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                return ShowLogin(interaction=interaction, client=request.client)
            assert user is not None
            assert handle is not None
            # Read afresh on every request: a membership ended or an agent authorisation
            # revoked, expired or not covering this client is no longer a valid choice.
            choices = agents.choices(session, user_id=user.id, client_id=request.client.client_id)
            chosen_ok = sso.organisation_chosen and agents.still_chosen(choices, sso)
            choose_again = "select_account" in request.prompt and not (
                interaction is not None and interaction.organisation_chosen
            )
            if choices and (not chosen_ok or choose_again):
                if "none" in request.prompt:
                    raise InteractionRequired("the person must choose whom they act for")
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                return ShowOrganisation(
                    interaction=interaction, client=request.client, choices=choices
                )
            target = self._target_level(
                session, request, params, user, organisation_id=sso.organisation_id
            )
            short = step_up.short_of(session, user=user, methods=sso.methods, target=target)
            if short is not None:
                if not short.reachable:
                    raise UnmetAuthenticationRequirements(
                        _unmet_description(short, assurance.acr(target))
                    )
                if "none" in request.prompt:
                    raise InteractionRequired("the sign-in must be stronger for this request")
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                kept = short.kept(sso)
                if interaction.factor_need != kept:  # the factor page shows it as decided here
                    interaction.factor_need = kept
                    idp.interactions.save(interaction)
                return ShowFactor(interaction=interaction, client=request.client, need=short)
            if not request.client.extra.get("first_party"):
                allowed = consents.scopes(
                    session, user_id=user.id, client_id=request.client.client_id
                )
                consented_here = interaction is not None and interaction.consented
                missing = not set(request.scopes) <= allowed
                if (missing or "consent" in request.prompt) and not consented_here:
                    if "none" in request.prompt:
                        raise ConsentRequired("the person has not allowed this application")
                    interaction = interaction or idp.interactions.start(
                        browser=browser, params=params
                    )
                    return ShowConsent(
                        interaction=interaction, client=request.client, scopes=request.scopes
                    )
        client_id = request.client.client_id

        def record(s: SsoSession) -> None:
            if client_id not in s.clients:
                s.clients.append(client_id)
            if not chosen_ok:  # the organisation it acted for is no choice any more
                s.organisation_id, s.agent_authorisation_id = None, None
                s.organisation_chosen = False

        updated = idp.sessions.update(handle, record)
        if updated is None:
            raise LoginRequired("the session ended")
        level = assurance.level(proofing_level=user.proofing_level, methods=updated.methods)
        code = idp.codes.issue(
            CodeGrant(
                grant_id=secrets.token_hex(16),
                client_id=client_id,
                redirect_uri=request.redirect_uri,
                user_id=updated.user_id,
                sid=updated.sid,
                scopes=list(request.scopes),
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                auth_time=updated.auth_time,
                acr=assurance.acr(level),
                amr=assurance.amr(updated.methods),
                organisation_id=updated.organisation_id,
                agent_authorisation_id=updated.agent_authorisation_id,
            )
        )
        if updated.agent_authorisation_id is not None:
            with idp.database.transaction() as session:
                agents.record_use(session, events=idp.events, sso=updated, client_id=client_id)
        if interaction is not None:
            idp.interactions.finish(interaction)
        return Redirect(
            with_query(
                request.redirect_uri, {"code": code, "state": request.state, "iss": idp.issuer}
            )
        )


def _unmet_description(short: step_up.Need, wanted: str) -> str:
    if short.proofing_short:
        return f"{wanted} needs a verified real name at that level; the account is not"
    return f"{wanted} needs a factor the person has not enrolled"
