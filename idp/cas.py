"""CAS 3.0 ``/login``: the steps from a service's request to a service ticket, on the same SSO
session, sign-in pages and rules as the OpenID Connect authorization endpoint.

Framework-free: the router turns each :class:`idp.authorization.Step` into a page or a
redirect.

Security contract: the ``service`` must be registered *exactly* and enabled
(``idp.cas_services``), otherwise our own error page is shown and the browser is never sent
to it (Apereo CAS §2.1.1 leaves the choice open; an open redirect is not). With a live SSO
session a ticket is issued at once, unless ``renew`` asks for a sign-in inside this very
request (§2.1.1); ``gateway`` never shows a page: without a usable session the browser goes
back to the service without a ticket. A disabled account counts as nobody signed in; the
organisation choice and the service's minimum level of assurance are asked for as for an
app (``idp.authorization``), and a level the account cannot reach ends on our error page. A
ticket is 128 random bits, lives ``cas_ticket_ttl_seconds`` (10 s by default), is taken
atomically once (``Store.take``) and names the service it was issued for; the session
remembers every ticket it issued, as the ``SessionIndex`` of single logout (§2.3.3).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from core.store import Store
from core.stored import read_record
from idp import agents, assurance, repository, step_up
from idp.authorization import ErrorPage, Redirect, ShowFactor, ShowLogin, ShowOrganisation, Step
from idp.interactions import Interaction
from idp.models import CasService
from idp.protocol import cas
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

# Interaction parameters of a CAS request (an app's request has ``client_id`` instead).
SERVICE = "cas_service"
NAME = "cas_name"
RENEW = "cas_renew"
# At most this many tickets are remembered per session for single logout.
MAX_REMEMBERED = 50

log = logging.getLogger("tongxing.idp.cas")


def is_cas(interaction: Interaction) -> bool:
    """Whether the interaction continues a CAS ``/login`` (not an app's OIDC request)."""
    return SERVICE in interaction.params


@dataclass
class Ticket:
    """What a service ticket stands for, kept in the store until it is validated."""

    service_id: str
    service: str
    user_id: str
    sid: str
    auth_time: int
    methods: list[str]
    organisation_id: str | None
    new_login: bool
    issued_at: int
    extra: dict[str, str] = field(default_factory=dict)
    # The agent authorisation (idp.agents) the person acts for the organisation under.
    agent_authorisation_id: str | None = None


class Tickets:
    """Service tickets under ``tx:idp:cas-ticket:<ticket>``, single use."""

    def __init__(self, *, store: Store, lifetime: int) -> None:
        self.store = store
        self.lifetime = lifetime

    def _key(self, ticket: str) -> str:
        return self.store.key("idp", "cas-ticket", ticket)

    def issue(self, record: Ticket) -> str:
        """A new ticket for ``record``."""
        ticket = cas.new_ticket()
        stored = self.store.set(
            self._key(ticket),
            json.dumps(asdict(record)).encode(),
            ttl=self.lifetime,
            only_if_absent=True,
        )
        if not stored:  # 128 random bits collided: refuse rather than overwrite
            raise RuntimeError("a new service ticket collided with a live one")
        return ticket

    def take(self, ticket: str) -> Ticket | None:
        """The ticket's record, atomically removed (of concurrent validations exactly one
        gets it); None when unknown, used or expired."""
        raw = self.store.take(self._key(ticket))
        return read_record(Ticket, raw) if raw is not None else None


def cas_client_id(service: CasService | str) -> str:
    """The client id a CAS service has where apps are named by client id (an agent
    authorisation's listed apps, logout deliveries): ``cas:<service id>``."""
    return f"cas:{service if isinstance(service, str) else service.id}"


def tickets(idp: IdentityProvider) -> Tickets:
    """The IdP's service tickets."""
    return Tickets(store=idp.store, lifetime=idp.settings.cas_ticket_ttl_seconds)


def audit(
    idp: IdentityProvider, *, type: str, actor: str, subject: str, details: dict[str, Any]
) -> None:
    """Record one audit event in a transaction of its own."""
    with idp.database.transaction() as session:
        idp.events.record(session, type=type, actor=actor, subject=subject, details=details)


class CasLogin:
    """Runs CAS ``/login`` requests for one IdP."""

    def __init__(self, idp: IdentityProvider) -> None:
        self.idp = idp

    def start(
        self, params: Mapping[str, Sequence[str]], *, browser: str, handle: str | None
    ) -> Step:
        """A browser arriving at ``/login`` with the service's parameters."""
        try:
            request = cas.login_request(params)
        except cas.CasError as exc:
            return ErrorPage(exc.message)
        if request.service is None:
            return Redirect("/account")  # §2.1.1: no service: the person's own page
        service = self._service(request.service)
        if service is None:
            return self._refused(request.service)
        stored = {SERVICE: service.service, NAME: service.name}
        if request.renew:
            stored[RENEW] = "1"
        return self._decide(
            service,
            stored,
            browser=browser,
            handle=handle,
            gateway=request.gateway,
            interaction=None,
        )

    def resume(self, interaction: Interaction, *, handle: str | None) -> Step:
        """Continue after a sign-in, an organisation choice or a factor."""
        service = self._service(interaction.params.get(SERVICE, ""))
        if service is None:
            self.idp.interactions.finish(interaction)
            return self._refused(interaction.params.get(SERVICE, ""))
        return self._decide(
            service,
            interaction.params,
            browser=interaction.browser,
            handle=handle,
            gateway=False,
            interaction=interaction,
        )

    def _service(self, url: str) -> CasService | None:
        with self.idp.database.reading() as session:
            found = repository.cas_service_by_url(session, url)
            if found is None or found.disabled:
                return None
            session.expunge(found)
            return found

    def _refused(self, url: str) -> ErrorPage:
        # Anyone can name any URL: logged (truncated), not appended to the audit log one by one.
        log.info("CAS sign-in for an unregistered service refused", extra={"service": url[:200]})
        return ErrorPage("cas_unregistered_service")

    def _decide(
        self,
        service: CasService,
        params: dict[str, str],
        *,
        browser: str,
        handle: str | None,
        gateway: bool,
        interaction: Interaction | None,
    ) -> Step:
        idp = self.idp
        sso = idp.sessions.get(handle)
        signed_in_here = interaction is not None and interaction.login_at is not None
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id) if sso else None
            if user is None or user.disabled:
                sso = None
            if sso is None or (RENEW in params and not signed_in_here):
                if gateway:
                    return Redirect(service.service)
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                return ShowLogin(interaction=interaction, client=None)
            assert user is not None
            assert handle is not None
            # As for an app (idp.authorization): memberships and the agent authorisations
            # covering this service, read afresh on every request.
            choices = agents.choices(session, user_id=user.id, client_id=cas_client_id(service))
            chosen_ok = sso.organisation_chosen and agents.still_chosen(choices, sso)
            if choices and not chosen_ok:
                if gateway:
                    return Redirect(service.service)
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                return ShowOrganisation(interaction=interaction, client=None, choices=choices)
            short = step_up.short_of(
                session, user=user, methods=sso.methods, target=service.min_level or 1
            )
            if short is not None:
                if gateway:
                    return Redirect(service.service)
                if not short.reachable:
                    if interaction is not None:
                        idp.interactions.finish(interaction)
                    return ErrorPage("cas_unmet_level")
                interaction = interaction or idp.interactions.start(browser=browser, params=params)
                kept = short.kept(sso)
                if interaction.factor_need != kept:
                    interaction.factor_need = kept
                    idp.interactions.save(interaction)
                return ShowFactor(interaction=interaction, client=None, need=short)
        return self._issue(
            service,
            handle,
            new_login=signed_in_here,
            interaction=interaction,
            still_chosen=chosen_ok,
        )

    def _issue(
        self,
        service: CasService,
        handle: str,
        *,
        new_login: bool,
        interaction: Interaction | None,
        still_chosen: bool,
    ) -> Step:
        idp = self.idp
        if not still_chosen:  # the organisation it acted for is no choice any more: oneself

            def act_for_oneself(s: SsoSession) -> None:
                s.organisation_id, s.agent_authorisation_id = None, None
                s.organisation_chosen = False

            idp.sessions.update(handle, act_for_oneself)
        current = idp.sessions.get(handle)
        if current is None:
            return ErrorPage("cas_session_ended")
        record = Ticket(
            service_id=service.id,
            service=service.service,
            user_id=current.user_id,
            sid=current.sid,
            auth_time=current.auth_time,
            methods=list(current.methods),
            organisation_id=current.organisation_id,
            agent_authorisation_id=current.agent_authorisation_id,
            new_login=new_login,
            issued_at=int(time.time()),
        )
        ticket = tickets(idp).issue(record)

        def remember(s: SsoSession) -> None:
            s.cas_tickets = [*s.cas_tickets, [service.id, ticket]][-MAX_REMEMBERED:]

        if idp.sessions.update(handle, remember) is None:
            tickets(idp).take(ticket)
            return ErrorPage("cas_session_ended")
        if interaction is not None:
            idp.interactions.finish(interaction)
        level = assurance.level(
            proofing_level=_proofing_level(idp, current.user_id), methods=current.methods
        )
        audit(
            idp,
            type="cas.ticket.issued",
            actor=current.user_id,
            subject=service.id,
            details={
                "service": service.service,
                "sid": current.sid,
                "new_login": new_login,
                "acr": assurance.acr(level),
                "organisation_id": current.organisation_id,
                "agent_authorisation_id": current.agent_authorisation_id,
            },
        )
        if current.agent_authorisation_id is not None:
            with idp.database.transaction() as session:
                agents.record_use(
                    session, events=idp.events, sso=current, client_id=cas_client_id(service)
                )
        return Redirect(with_ticket(service.service, ticket))


def _proofing_level(idp: IdentityProvider, user_id: str) -> int:
    with idp.database.reading() as session:
        user = repository.user(session, user_id)
        return user.proofing_level if user is not None else 1


def with_ticket(service: str, ticket: str) -> str:
    """The service URL with ``ticket`` appended (§2.2.4: ``?`` or ``&``, the registered URL
    otherwise unchanged)."""
    separator = "&" if "?" in service else "?"
    return f"{service}{separator}ticket={ticket}"
