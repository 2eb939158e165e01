"""经办人 (agent) authorisations: an organisation authorises a person to act for it, for all
business (``all``, 全业务) or for listed apps (``apps``, 精准授权), for a period.

Security contract:

- An authorisation is *current* only while ``accepted`` by the person and inside
  ``[valid_from, valid_until)``; an ``apps`` one covers only the listed client ids. Only
  current authorisations covering the requesting client are offered as a choice at sign-in
  (:func:`choices`), and a grant made under one yields the ``org`` claim (role ``agent``,
  the authorisation's id) only while it is still current (:func:`acting_as_agent`).
- :func:`revoke` and :func:`expire_due` revoke, in the caller's transaction, every grant made
  under the authorisation (refresh tokens then fail with ``invalid_grant``; the admin API
  reads grants from SQL); after the commit :func:`complete` announces each revoked grant to
  every process (``IdentityProvider.grant_revoked``: userinfo and introspection stop at once)
  and takes the authorisation out of the person's live SSO sessions (they choose again).
  A session whose store is out of reach (the CLI without Redis) still chooses again: the
  authorization endpoint checks the choice against SQL on every request.
- Every step is an audit event: ``agent.offered``, ``agent.accepted``, ``agent.declined``,
  ``agent.revoked``, ``agent.expired``, ``agent.used``.

Not checked here: who may offer or revoke (the rule book, ``admin.agents``) and that the
person deciding is the one signed in (the account page's routes).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.clock import as_utc
from core.events import EventRecorder
from idp import grants, repository
from idp.models import AgentAuthorisation, Grant, Organisation, User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

SCOPES = ("all", "apps")
OPEN = ("offered", "accepted")
MAX_APPS = 50
# The grant context key naming the authorisation a grant was made under.
CONTEXT_KEY = "agent_authorisation_id"
# How a choice of an agent authorisation is posted on the organisation page.
CHOICE_PREFIX = "agent:"


class AgentError(ValueError):
    """An authorisation that cannot be made or decided as asked."""


@dataclass(frozen=True)
class Choice:
    """Whom a person may act for at sign-in: an organisation, in a role (``admin``,
    ``member`` or ``agent``), under an agent authorisation for ``agent``."""

    organisation: Organisation
    role: str
    authorisation_id: str | None = None

    @property
    def value(self) -> str:
        """What the organisation page posts for this choice."""
        if self.authorisation_id is not None:
            return CHOICE_PREFIX + self.authorisation_id
        return self.organisation.id


@dataclass(frozen=True)
class Ended:
    """An authorisation that ended (revoked or expired) and the grants revoked with it."""

    authorisation_id: str
    user_id: str
    grants: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def is_current(
    authorisation: AgentAuthorisation, *, client_id: str | None, now: datetime | None = None
) -> bool:
    """Whether the authorisation is accepted, in its period and (for ``client_id``) covers
    that client."""
    now = now or _now()
    if authorisation.status != "accepted":
        return False
    if not as_utc(authorisation.valid_from) <= now < as_utc(authorisation.valid_until):
        return False
    if client_id is None or authorisation.scope == "all":
        return True
    return client_id in authorisation.client_ids


def choices(session: Session, *, user_id: str, client_id: str) -> list[Choice]:
    """The person's memberships, then their current authorisations covering ``client_id``
    (an organisation they belong to is offered once, as a member)."""
    if not repository.acts_for_anyone(session, user_id, statuses=("accepted",)):
        return []  # most people: one query instead of two
    found = [Choice(o, m.role) for m, o in repository.memberships_of(session, user_id)]
    member_of = {c.organisation.id for c in found}
    now = _now()
    for authorisation, organisation in repository.agent_authorisations_of(
        session, user_id, statuses=("accepted",)
    ):
        if organisation.id not in member_of and is_current(
            authorisation, client_id=client_id, now=now
        ):
            found.append(Choice(organisation, "agent", authorisation.id))
    return found


def still_chosen(choices_now: list[Choice], sso: SsoSession) -> bool:
    """Whether the session's choice is still among ``choices_now`` (acting for oneself
    always is)."""
    if sso.organisation_id is None:
        return True
    return any(
        c.organisation.id == sso.organisation_id
        and c.authorisation_id == sso.agent_authorisation_id
        for c in choices_now
    )


def acting_as_agent(session: Session, grant: Grant) -> tuple[Organisation, str] | None:
    """The organisation and authorisation id a grant made under a still-current agent
    authorisation acts for; None otherwise."""
    authorisation_id = grant.context.get(CONTEXT_KEY)
    if not authorisation_id or grant.user_id is None:
        return None
    authorisation = repository.agent_authorisation(session, str(authorisation_id))
    if (
        authorisation is None
        or authorisation.user_id != grant.user_id
        or authorisation.organisation_id != grant.context.get("organisation_id")
        or not is_current(authorisation, client_id=grant.client_id)
    ):
        return None
    organisation = repository.organisation(session, authorisation.organisation_id)
    if organisation is None or organisation.disabled:
        return None
    return organisation, authorisation.id


def ended_for(session: Session, grant: Grant) -> bool:
    """Whether the grant was made under an agent authorisation that no longer holds."""
    return bool(grant.context.get(CONTEXT_KEY)) and acting_as_agent(session, grant) is None


def view(authorisation: AgentAuthorisation) -> dict[str, object]:
    """The authorisation as data (audit details, API views)."""
    return {
        "id": authorisation.id,
        "organisation_id": authorisation.organisation_id,
        "person_id": authorisation.user_id,
        "scope": authorisation.scope,
        "apps": list(authorisation.client_ids),
        "valid_from": as_utc(authorisation.valid_from).isoformat(),
        "valid_until": as_utc(authorisation.valid_until).isoformat(),
        "status": authorisation.status,
    }


def offer(
    session: Session,
    *,
    events: EventRecorder,
    organisation: Organisation,
    user: User,
    scope: str,
    client_ids: Collection[str],
    valid_from: datetime,
    valid_until: datetime,
    actor: str,
) -> AgentAuthorisation:
    """Offer ``user`` an authorisation to act for ``organisation``; it waits for them."""
    apps = list(dict.fromkeys(c.strip() for c in client_ids if c.strip()))
    if scope not in SCOPES:
        raise AgentError("scope must be all (全业务) or apps (精准授权)")
    if scope == "apps" and not apps:
        raise AgentError("a precise authorisation (apps) lists at least one app")
    if scope == "all" and apps:
        raise AgentError("an authorisation for all business lists no apps")
    if len(apps) > MAX_APPS:
        raise AgentError(f"at most {MAX_APPS} apps")
    for client_id in apps:
        if repository.client(session, client_id) is None:
            raise AgentError(f"there is no app {client_id!r}")
    valid_from, valid_until = as_utc(valid_from), as_utc(valid_until)
    if valid_until <= valid_from:
        raise AgentError("the period must end after it starts")
    if valid_until <= _now():
        raise AgentError("the period has already ended")
    if organisation.disabled:
        raise AgentError(f"organisation {organisation.name} is disabled")
    if user.disabled:
        raise AgentError(f"{user.username} is disabled")
    authorisation = AgentAuthorisation(
        id=uuid.uuid4().hex,
        organisation_id=organisation.id,
        user_id=user.id,
        scope=scope,
        client_ids=apps,
        valid_from=valid_from,
        valid_until=valid_until,
        status="offered",
        offered_by=actor,
        created_at=_now(),
    )
    session.add(authorisation)
    session.flush()
    events.record(
        session,
        type="agent.offered",
        actor=actor,
        subject=authorisation.id,
        details=view(authorisation),
    )
    return authorisation


def decide(
    session: Session, *, events: EventRecorder, authorisation_id: str, user_id: str, accept: bool
) -> AgentAuthorisation:
    """The person accepts or declines an authorisation offered to them."""
    authorisation = repository.agent_authorisation(session, authorisation_id, for_update=True)
    if authorisation is None or authorisation.user_id != user_id:
        raise AgentError("there is no such authorisation for you")
    if authorisation.status != "offered":
        raise AgentError(f"the authorisation is {authorisation.status}, not waiting for you")
    if as_utc(authorisation.valid_until) <= _now():
        raise AgentError("the authorisation's period has ended")
    authorisation.status = "accepted" if accept else "declined"
    authorisation.decided_at = _now()
    events.record(
        session,
        type="agent.accepted" if accept else "agent.declined",
        actor=user_id,
        subject=authorisation.id,
        details={"organisation_id": authorisation.organisation_id},
    )
    return authorisation


def _end(session: Session, authorisation: AgentAuthorisation, *, status: str, actor: str) -> Ended:
    authorisation.status = status
    authorisation.ended_at = _now()
    authorisation.ended_by = actor
    under = [
        g
        for g in grants.of_user(session, authorisation.user_id)
        if g.context.get(CONTEXT_KEY) == authorisation.id
    ]
    reason = f"agent-{status}"
    revoked = [g.id for g in under if grants.revoke(session, g.id, reason=reason)]
    return Ended(authorisation_id=authorisation.id, user_id=authorisation.user_id, grants=revoked)


def revoke(
    session: Session, *, events: EventRecorder, authorisation: AgentAuthorisation, actor: str
) -> Ended:
    """End an offered or accepted authorisation now, revoking the grants made under it (in
    the caller's transaction; call :func:`complete` after the commit)."""
    session.refresh(authorisation, with_for_update=True)
    if authorisation.status not in OPEN:
        raise AgentError(f"the authorisation is {authorisation.status} already")
    ended = _end(session, authorisation, status="revoked", actor=actor)
    events.record(
        session,
        type="agent.revoked",
        actor=actor,
        subject=authorisation.id,
        details={
            "organisation_id": authorisation.organisation_id,
            "person_id": authorisation.user_id,
            "grants_ended": len(ended.grants),
        },
    )
    return ended


def _expire(session: Session, authorisation: AgentAuthorisation, *, events: EventRecorder) -> Ended:
    ended = _end(session, authorisation, status="expired", actor="system")
    events.record(
        session,
        type="agent.expired",
        actor="system",
        subject=authorisation.id,
        details={
            "organisation_id": authorisation.organisation_id,
            "person_id": authorisation.user_id,
            "valid_until": as_utc(authorisation.valid_until).isoformat(),
            "grants_ended": len(ended.grants),
        },
    )
    return ended


def expire_due(session: Session, *, events: EventRecorder) -> list[Ended]:
    """Mark every open authorisation whose period has ended as expired (one audit event
    each) and revoke its grants; call :func:`complete` after the commit. The periodic
    sweep: rows are locked in id order, skipping those another sweep holds."""
    return [
        _expire(session, authorisation, events=events)
        for authorisation in repository.agent_authorisations_ending(
            session, statuses=OPEN, before=_now()
        )
    ]


def expire_one(session: Session, *, events: EventRecorder, authorisation_id: str) -> list[Ended]:
    """Expire this one authorisation if it is open and its period has ended (locked by id;
    as :func:`expire_due` otherwise): what a request that notices its own grant's ended
    authorisation does, never a system-wide sweep inside a request."""
    authorisation = repository.agent_authorisation(session, authorisation_id, for_update=True)
    if (
        authorisation is None
        or authorisation.status not in OPEN
        or as_utc(authorisation.valid_until) > _now()
    ):
        return []
    return [_expire(session, authorisation, events=events)]


def record_use(session: Session, *, events: EventRecorder, sso: SsoSession, client_id: str) -> None:
    """Record that the person signed in to ``client_id`` as the organisation's agent."""
    events.record(
        session,
        type="agent.used",
        actor=sso.user_id,
        subject=sso.agent_authorisation_id or "",
        details={"organisation_id": sso.organisation_id, "client_id": client_id, "sid": sso.sid},
    )


def complete(idp: IdentityProvider, ended: Collection[Ended]) -> None:
    """After the commit: announce the revoked grants to every process and take the ended
    authorisations out of the people's live sessions (they choose again)."""
    for one in ended:
        for grant_id in one.grants:
            idp.grant_revoked(grant_id)

        def drop(sso: SsoSession, authorisation_id: str = one.authorisation_id) -> None:
            if sso.agent_authorisation_id == authorisation_id:
                sso.organisation_id, sso.agent_authorisation_id = None, None
                sso.organisation_chosen = False

        for reference, sso in idp.sessions.of_user(one.user_id):
            if sso.agent_authorisation_id == one.authorisation_id:
                idp.sessions.update_by_reference(one.user_id, reference, drop)


def notice_expiries(idp: IdentityProvider) -> int:
    """Expire every authorisation whose period has ended (:func:`expire_due`), then
    :func:`complete`; returns how many ended. Run periodically by every app process."""
    with idp.database.reading() as session:  # the usual case: nothing due, no write lock
        due = repository.agent_authorisations_ending(
            session, statuses=OPEN, before=_now(), lock=False
        )
    if not due:
        return 0
    with idp.database.transaction() as session:
        ended = expire_due(session, events=idp.events)
    complete(idp, ended)
    return len(ended)
