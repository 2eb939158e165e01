"""Who acts: a person (signed in through the IdP, or named with ``--as`` on the server) or a
service account (a client with an administrator scope), and what they may act as.

Security contract: an :class:`Actor` is built from the database at the time of the act —
the platform role a person holds now, the organisations they administer now — intersected,
for a token, with what the token carries. A token cannot give more than the person holds,
and a withdrawn role or membership counts from the next request, whatever the token says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from idp import assurance
from idp import grants as idp_grants
from idp import repository as idp_repository
from idp.models import PLATFORM_ROLES, Client, User
from idp.role_scopes import ORG_ADMIN_SCOPE, PLATFORM_SCOPES, role_of
from keys.access_tokens import AccessToken

SYSTEM, SECURITY, AUDIT = PLATFORM_ROLES  # 系统管理员, 安全管理员, 审计管理员
ROLE_NAMES = {
    SYSTEM: "系统管理员 system administrator",
    SECURITY: "安全管理员 security administrator",
    AUDIT: "审计管理员 audit administrator",
}


@dataclass(frozen=True)
class Actor:
    """The one acting in an administrative act."""

    kind: Literal["person", "client", "server"]
    id: str  # user id, client id, or the server operation's name
    name: str  # login or client id, as shown and logged
    role: str | None  # the platform role acted in, if any
    organisations: frozenset[str]  # ids of the organisations administered in this act
    # A person's token: the level of assurance it acts at — the lower of the token's ``acr``
    # and the person's proofing level now (lowered since: the lower counts). None when no
    # sign-in is behind the act (a service account, the server operator).
    level: int | None = None

    @property
    def label(self) -> str:
        """How the audit log names the actor, e.g. ``person:alice`` or ``client:ops-bot``."""
        return f"{self.kind}:{self.name}"

    def holds(self, role: str) -> bool:
        """Whether the actor acts in ``role``."""
        return self.role == role

    def administers(self, organisation_id: str) -> bool:
        """Whether the actor acts as an administrator of the organisation."""
        return organisation_id in self.organisations


SETUP = "setup"  # the server operator before the first appointment (see policy)


def server(operation: str) -> Actor:
    """The server operator running a role-free command (bootstrap, break-glass)."""
    return Actor(kind="server", id=operation, name=operation, role=None, organisations=frozenset())


def _administered(session: Session, user_id: str) -> frozenset[str]:
    return frozenset(
        membership.organisation_id
        for membership, _ in idp_repository.memberships_of(session, user_id)
        if membership.role == "admin"
    )


def person(session: Session, user: User) -> Actor:
    """A person acting in every capacity they hold now (the server operator's ``--as``)."""
    return Actor(
        kind="person",
        id=user.id,
        name=user.username,
        role=role_of(session, user.id),
        organisations=_administered(session, user.id),
    )


def from_token(session: Session, token: AccessToken) -> Actor | None:
    """The actor behind an admin API token, or None when the account or client is gone or
    disabled. Roles are what the token carries *and* the database still grants."""
    if "gid" in token.claims:  # a person's token (authorization code flow)
        user = idp_repository.user(session, token.subject)
        if user is None or user.disabled:
            return None
        # Like userinfo: a token of a revoked grant (signed out, replayed code, refresh
        # reuse) acts no more, and the grant must be this person's at this client.
        grant = idp_grants.active(session, str(token.claims["gid"]))
        if grant is None or grant.user_id != user.id or grant.client_id != token.client_id:
            return None
        client_row = idp_repository.client(session, token.client_id)
        if client_row is None or client_row.disabled:
            return None
        held = role_of(session, user.id)
        role = held if held and PLATFORM_SCOPES[held] in token.scopes else None
        org = token.claims.get("org")
        organisations = (
            frozenset({org}) & _administered(session, user.id)
            if ORG_ADMIN_SCOPE in token.scopes and isinstance(org, str)
            else frozenset()
        )
        signed = assurance.level_of(str(token.claims.get("acr", ""))) or 1
        return Actor(
            kind="person",
            id=user.id,
            name=user.username,
            role=role,
            organisations=organisations,
            level=min(signed, user.proofing_level),
        )
    client: Client | None = idp_repository.client(session, token.client_id)
    if client is None or client.disabled or token.subject != client.client_id:
        return None
    roles = [r for r, scope in PLATFORM_SCOPES.items() if scope in token.scopes]
    owner = client.owner_organisation_id
    return Actor(
        kind="client",
        id=client.client_id,
        name=client.client_id,
        role=roles[0] if len(roles) == 1 else None,
        organisations=(
            frozenset({owner}) if owner and ORG_ADMIN_SCOPE in token.scopes else frozenset()
        ),
    )
