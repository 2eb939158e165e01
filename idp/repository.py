"""Every SQL statement of the identity provider."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select, union_all
from sqlalchemy.orm import Session

from idp.models import (
    AgentAuthorisation,
    CasService,
    Client,
    Grant,
    LogoutDelivery,
    Membership,
    Organisation,
    PlatformRole,
    TokenExchangePair,
    User,
)


def user_by_login(session: Session, login: str) -> User | None:
    """A user by username, email or phone."""
    query = select(User).where(
        or_(User.username == login, User.email == login, User.phone == login)
    )
    return session.scalars(query).first()


def user_by_national_id_digest(session: Session, digest: str) -> User | None:
    """The user holding an identity number, found through its keyed digest."""
    return session.scalars(select(User).where(User.national_id_digest == digest)).first()


def users(session: Session) -> Sequence[User]:
    """Every user, by username."""
    return session.scalars(select(User).order_by(User.username)).all()


def counts(session: Session) -> dict[str, int]:
    """How many people, organisations and clients there are (disabled ones included)."""
    return {
        "people": int(session.scalar(select(func.count()).select_from(User)) or 0),
        "organisations": int(session.scalar(select(func.count()).select_from(Organisation)) or 0),
        "clients": int(session.scalar(select(func.count()).select_from(Client)) or 0),
    }


def organisation_counts(session: Session, organisation_id: str) -> dict[str, int]:
    """How many members an organisation has and how many clients it owns."""
    members = select(func.count()).where(Membership.organisation_id == organisation_id)
    owned = select(func.count()).where(Client.owner_organisation_id == organisation_id)
    return {
        "members": int(session.scalar(members) or 0),
        "clients": int(session.scalar(owned) or 0),
    }


def failed_logout_deliveries(
    session: Session, *, limit: int
) -> tuple[int, Sequence[LogoutDelivery]]:
    """How many back-channel logout deliveries failed, and the newest ``limit`` of them."""
    failed = LogoutDelivery.status == "failed"
    total = int(session.scalar(select(func.count()).where(failed)) or 0)
    newest = session.scalars(
        select(LogoutDelivery)
        .where(failed)
        .order_by(LogoutDelivery.updated_at.desc(), LogoutDelivery.id)
        .limit(limit)
    ).all()
    return total, newest


def organisation(session: Session, ref: str) -> Organisation | None:
    """An organisation by id or unified social credit code."""
    query = select(Organisation).where(or_(Organisation.id == ref, Organisation.uscc == ref))
    return session.scalars(query).first()


def organisations(session: Session) -> Sequence[Organisation]:
    """Every organisation, by name."""
    return session.scalars(select(Organisation).order_by(Organisation.name)).all()


def membership(session: Session, *, organisation_id: str, user_id: str) -> Membership | None:
    """A person's membership of an organisation."""
    return session.get(Membership, (organisation_id, user_id))


def memberships_of(session: Session, user_id: str) -> Sequence[tuple[Membership, Organisation]]:
    """The organisations a person belongs to (enabled ones), with the membership."""
    query = (
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user_id, Organisation.disabled.is_(False))
        .order_by(Organisation.name)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def acts_for_anyone(session: Session, user_id: str, *, statuses: Collection[str]) -> bool:
    """Whether the person has a membership or an agent authorisation in ``statuses`` (one
    query; the organisations' state is not looked at)."""
    memberships = select(Membership.user_id).where(Membership.user_id == user_id)
    authorisations = select(AgentAuthorisation.user_id).where(
        AgentAuthorisation.user_id == user_id, AgentAuthorisation.status.in_(list(statuses))
    )
    return session.execute(union_all(memberships, authorisations).limit(1)).first() is not None


def client(session: Session, client_id: str) -> Client | None:
    """A client by id."""
    return session.get(Client, client_id)


def clients(session: Session) -> Sequence[Client]:
    """Every client, by id."""
    return session.scalars(select(Client).order_by(Client.client_id)).all()


def user(session: Session, user_id: str) -> User | None:
    """A user by id."""
    return session.get(User, user_id)


def client_snapshot(session: Session, client_id: str) -> Client | None:
    """A read-only, detached copy of a client (one Core query: the hot path of every
    token request; never change or add it to a session)."""
    row = session.execute(
        select(*Client.__table__.c).where(Client.__table__.c.client_id == client_id)
    ).first()
    return Client(**row._mapping) if row is not None else None


def userinfo_view(session: Session, grant_id: str) -> tuple[Grant, User, bool] | None:
    """The grant, its person and whether its client is enabled, in one query (userinfo)."""
    query = (
        select(Grant, User, Client.disabled)
        .join(User, User.id == Grant.user_id)
        .join(Client, Client.client_id == Grant.client_id)
        .where(Grant.id == grant_id)
    )
    row = session.execute(query).first()
    return (row[0], row[1], not row[2]) if row is not None else None


def platform_role_holders(
    session: Session, role: str | None = None
) -> Sequence[tuple[PlatformRole, User]]:
    """Holders of a platform role (or of every role), by login."""
    query = select(PlatformRole, User).join(User, User.id == PlatformRole.user_id)
    if role is not None:
        query = query.where(PlatformRole.role == role)
    return [(row[0], row[1]) for row in session.execute(query.order_by(User.username))]


def organisation_admins(session: Session, organisation_id: str) -> Sequence[User]:
    """The administrators (单位管理员) of an organisation, by login."""
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id, Membership.role == "admin")
        .order_by(User.username)
    )
    return session.scalars(query).all()


def users_page(
    session: Session, *, after: str | None, limit: int, organisations: Collection[str] | None
) -> Sequence[User]:
    """Up to ``limit`` people by username after ``after``; with ``organisations``, only
    members of those."""
    query = select(User).order_by(User.username).limit(limit)
    if after is not None:
        query = query.where(User.username > after)
    if organisations is not None:
        members = select(Membership.user_id).where(Membership.organisation_id.in_(organisations))
        query = query.where(User.id.in_(members))
    return session.scalars(query).all()


def is_member(session: Session, *, user_id: str, organisations: Collection[str]) -> bool:
    """Whether the person belongs to one of ``organisations``."""
    query = select(Membership.user_id).where(
        Membership.user_id == user_id, Membership.organisation_id.in_(organisations)
    )
    return session.scalars(query.limit(1)).first() is not None


def organisations_page(
    session: Session, *, after: str | None, limit: int, ids: Collection[str] | None
) -> Sequence[Organisation]:
    """Up to ``limit`` organisations by credit code after ``after`` (only ``ids`` if given)."""
    query = select(Organisation).order_by(Organisation.uscc).limit(limit)
    if after is not None:
        query = query.where(Organisation.uscc > after)
    if ids is not None:
        query = query.where(Organisation.id.in_(ids))
    return session.scalars(query).all()


def members_page(
    session: Session, *, organisation_id: str, after: str | None, limit: int
) -> Sequence[tuple[Membership, User]]:
    """Up to ``limit`` members of an organisation by username after ``after``."""
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation_id)
        .order_by(User.username)
        .limit(limit)
    )
    if after is not None:
        query = query.where(User.username > after)
    return [(row[0], row[1]) for row in session.execute(query)]


def clients_page(
    session: Session, *, after: str | None, limit: int, owners: Collection[str] | None
) -> Sequence[Client]:
    """Up to ``limit`` clients by id after ``after``; with ``owners``, only theirs."""
    query = select(Client).order_by(Client.client_id).limit(limit)
    if after is not None:
        query = query.where(Client.client_id > after)
    if owners is not None:
        query = query.where(Client.owner_organisation_id.in_(owners))
    return session.scalars(query).all()


def cas_service_by_url(session: Session, service: str) -> CasService | None:
    """The CAS service registered with exactly this URL (no pattern, no normalisation)."""
    return session.scalars(select(CasService).where(CasService.service == service)).first()


def cas_service(session: Session, service_id: str) -> CasService | None:
    """A CAS service by id."""
    return session.get(CasService, service_id)


def cas_services_page(session: Session, *, after: str | None, limit: int) -> Sequence[CasService]:
    """Up to ``limit`` CAS services by service URL after ``after``."""
    query = select(CasService).order_by(CasService.service).limit(limit)
    if after is not None:
        query = query.where(CasService.service > after)
    return session.scalars(query).all()


def agent_authorisation(
    session: Session, authorisation_id: str, *, for_update: bool = False
) -> AgentAuthorisation | None:
    """An agent authorisation (经办人授权) by id."""
    return session.get(AgentAuthorisation, authorisation_id, with_for_update=for_update)


def agent_authorisations_of(
    session: Session, user_id: str, *, statuses: Collection[str]
) -> Sequence[tuple[AgentAuthorisation, Organisation]]:
    """A person's agent authorisations in ``statuses`` (of enabled organisations), with the
    organisation, by organisation name then newest first."""
    query = (
        select(AgentAuthorisation, Organisation)
        .join(Organisation, Organisation.id == AgentAuthorisation.organisation_id)
        .where(
            AgentAuthorisation.user_id == user_id,
            AgentAuthorisation.status.in_(list(statuses)),
            Organisation.disabled.is_(False),
        )
        .order_by(Organisation.name, AgentAuthorisation.created_at.desc())
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def agents_page(
    session: Session, *, organisation_id: str, after: str | None, limit: int
) -> Sequence[tuple[AgentAuthorisation, User]]:
    """An organisation's agent authorisations with their person, by id (for paging)."""
    query = (
        select(AgentAuthorisation, User)
        .join(User, User.id == AgentAuthorisation.user_id)
        .where(AgentAuthorisation.organisation_id == organisation_id)
        .order_by(AgentAuthorisation.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(AgentAuthorisation.id > after)
    return [(row[0], row[1]) for row in session.execute(query)]


def agent_authorisations_ending(
    session: Session, *, statuses: Collection[str], before: datetime, lock: bool = True
) -> Sequence[AgentAuthorisation]:
    """Authorisations in ``statuses`` whose period ends before ``before`` (locked unless
    ``lock`` is false: see :func:`agent_authorisations_ending_query`)."""
    return session.scalars(
        agent_authorisations_ending_query(statuses=statuses, before=before, lock=lock)
    ).all()


def agent_authorisations_ending_query(
    *, statuses: Collection[str], before: datetime, lock: bool
) -> Select[AgentAuthorisation]:
    """The query of :func:`agent_authorisations_ending`: by id, and when locking, rows
    another process holds are skipped where the dialect can (it ends them itself), so
    concurrent sweeps neither wait on nor deadlock with each other."""
    query = (
        select(AgentAuthorisation)
        .where(
            AgentAuthorisation.status.in_(list(statuses)),
            AgentAuthorisation.valid_until <= before,
        )
        .order_by(AgentAuthorisation.id)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def exchange_pairs(
    session: Session, *, client_id: str | None = None
) -> Sequence[TokenExchangePair]:
    """Registered token-exchange pairs (of one client), by client and resource."""
    query = select(TokenExchangePair).order_by(
        TokenExchangePair.client_id, TokenExchangePair.resource
    )
    if client_id is not None:
        query = query.where(TokenExchangePair.client_id == client_id)
    return session.scalars(query).all()


def exchange_pair(session: Session, *, client_id: str, resource: str) -> TokenExchangePair | None:
    """One registered token-exchange pair."""
    return session.get(TokenExchangePair, (client_id, resource))
