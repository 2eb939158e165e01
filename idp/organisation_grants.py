"""Grants made acting for an organisation end when the person stops acting for it: their
membership removed, or the organisation disabled.

Without this, an app kept a session for the company until its refresh token was used (the
``org`` claim is re-read at every issue and would then be missing, leaving the app with a
person it believed acting for the company), and the sealing API kept honouring a token
exchanged for that person until it expired. Revoking the grants (in the caller's
transaction) and announcing them after the commit stops every process at once, as an agent
authorisation's end does (:mod:`idp.agents`, which governs the grants made under an
authorisation; a member's removal leaves those alone). Live SSO sessions acting for the
organisation forget the choice, so their next app request asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import agents, grants
from idp.models import AgentAuthorisation, Membership
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

CONTEXT_KEY = "organisation_id"


@dataclass(frozen=True)
class Ended:
    """The grants revoked because people stopped acting for ``organisation_id``."""

    organisation_id: str
    user_ids: list[str]
    grants: list[str] = field(default_factory=list)
    as_member_only: bool = True


def _revoke(
    session: Session, organisation_id: str, user_id: str, *, reason: str, members_only: bool
) -> list[str]:
    under = [
        g
        for g in grants.of_user(session, user_id)
        if g.context.get(CONTEXT_KEY) == organisation_id
        and not (members_only and g.context.get(agents.CONTEXT_KEY))
    ]
    return [g.id for g in under if grants.revoke(session, g.id, reason=reason)]


def membership_ended(session: Session, *, organisation_id: str, user_id: str) -> Ended:
    """Revoke the person's grants made acting for the organisation as a member (call
    :func:`complete` after the commit)."""
    revoked = _revoke(
        session, organisation_id, user_id, reason="membership-ended", members_only=True
    )
    return Ended(organisation_id=organisation_id, user_ids=[user_id], grants=revoked)


def organisation_disabled(session: Session, *, organisation_id: str) -> Ended:
    """Revoke every grant made acting for the organisation, by its members and its agents
    (call :func:`complete` after the commit)."""
    members = select(Membership.user_id).where(Membership.organisation_id == organisation_id)
    agents_of = select(AgentAuthorisation.user_id).where(
        AgentAuthorisation.organisation_id == organisation_id
    )
    user_ids = sorted(set(session.scalars(members)) | set(session.scalars(agents_of)))
    revoked = [
        grant_id
        for user_id in user_ids
        for grant_id in _revoke(
            session, organisation_id, user_id, reason="organisation-disabled", members_only=False
        )
    ]
    return Ended(
        organisation_id=organisation_id, user_ids=user_ids, grants=revoked, as_member_only=False
    )


def complete(idp: IdentityProvider, ended: Ended) -> None:
    """After the commit: announce the revoked grants to every process, and make the people's
    live sessions acting for the organisation choose again."""
    for grant_id in ended.grants:
        idp.grant_revoked(grant_id)

    def acting_for_it(sso: SsoSession) -> bool:
        if sso.organisation_id != ended.organisation_id:
            return False
        return not (ended.as_member_only and sso.agent_authorisation_id)

    def drop(sso: SsoSession) -> None:
        if acting_for_it(sso):
            sso.organisation_id, sso.agent_authorisation_id = None, None
            sso.organisation_chosen = False

    for user_id in ended.user_ids:
        for reference, sso in idp.sessions.of_user(user_id):
            if acting_for_it(sso):
                idp.sessions.update_by_reference(user_id, reference, drop)
