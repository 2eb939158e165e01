"""Every SQL statement of the identity provider."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.models import Client, Grant, Membership, Organisation, PlatformRole, User


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
