"""Deleting one's own account (个人信息保护法 §47): asked for by the person, the account is
disabled at once; after a grace period the purge removes the personal data.

Security contract: a request is refused for a holder of a platform role (三权分立 needs the
role withdrawn by two administrators first) and for the last administrator of an enabled
organisation (it would be left without anyone to manage it); the caller checks that the
session is a recent, strong one (:func:`idp.step_up.recently_strong`). Asking disables the
account and revokes every grant in the same transaction as the ``account.deletion_requested``
audit event; the caller ends the person's sessions and announces the revoked grants. After
``account_deletion_grace_days`` the purge (:func:`anonymise`) keeps only the row's id, so
the audit log's references still resolve, and clears names, contacts, the identity number,
the password hash, factors, recovery codes, history, consents and memberships, with an
``account.deleted`` event. :func:`cancel` is the way back within the grace period (the
person's own, or an administrator's: enabling such an account cancels its deletion, and
unlocking one leaves it disabled until the deletion is cancelled or done); an account
enabled again by other means is not purged either. Anonymising a row twice is impossible (it clears
``deletion_requested_at`` under a row lock), so several processes may purge at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Delete, delete, select
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import grants, repository
from idp.models import (
    Authenticator,
    Consent,
    Membership,
    PlatformRole,
    RecoveryCode,
    SignInRecord,
    UpstreamLink,
    User,
)

# What an anonymised account is called: not a valid username (idp.accounts), so no one can
# register it, and unique per row.
DELETED_PREFIX = "~deleted-"


@dataclass(frozen=True)
class Refusal:
    """Why the person cannot delete their own account now."""

    reason: str  # platform-role | last-admin | not-found
    detail: str = ""  # the role, or the organisation's name


@dataclass(frozen=True)
class Requested:
    """A deletion asked for: when the data goes, and the grants revoked now."""

    purge_after: datetime
    revoked_grants: list[str]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def refusal(session: Session, user: User) -> Refusal | None:
    """Why ``user`` may not delete their own account (None: they may)."""
    role = session.get(PlatformRole, user.id)
    if role is not None:
        return Refusal("platform-role", role.role)
    for membership, organisation in repository.memberships_of(session, user.id):
        if membership.role != "admin":
            continue
        others = [
            admin
            for admin in repository.organisation_admins(session, organisation.id)
            if admin.id != user.id and not admin.disabled
        ]
        if not others:
            return Refusal("last-admin", organisation.name)
    return None


def request(
    session: Session,
    *,
    events: EventRecorder,
    user_id: str,
    grace_days: int,
    now: datetime | None = None,
) -> Requested | Refusal:
    """The person asks for their account to be deleted (see the module docstring)."""
    moment = now or datetime.now(UTC)
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.username.startswith(DELETED_PREFIX):
        return Refusal("not-found")
    refused = refusal(session, user)
    if refused is not None:
        return refused
    # A new request starts a new grace period (an account an administrator enabled again
    # keeps its old date until now).
    user.deletion_requested_at, user.disabled, user.updated_at = moment, True, moment
    revoked = [
        grant.id
        for grant in grants.of_user(session, user.id)
        if grants.revoke(session, grant.id, reason="account-deletion")
    ]
    purge_after = moment + timedelta(days=grace_days)
    events.record(
        session,
        type="account.deletion_requested",
        actor=user.id,
        subject=user.id,
        details={"grants_ended": len(revoked), "purge_after": purge_after.isoformat()},
    )
    return Requested(purge_after=purge_after, revoked_grants=revoked)


def cancel(session: Session, *, events: EventRecorder, user_id: str, actor: str) -> bool:
    """Withdraw a pending deletion (within the grace period): the account is enabled again
    unless a security administrator locked it; revoked grants stay revoked. False when no
    deletion is pending."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.deletion_requested_at is None:
        return False
    user.deletion_requested_at = None
    user.disabled = user.locked
    user.updated_at = datetime.now(UTC)
    events.record(
        session,
        type="account.deletion_cancelled",
        actor=actor,
        subject=user.id,
        details={"still_locked": True} if user.locked else {},
    )
    return True


def due(session: Session, *, grace_days: int, now: datetime, limit: int = 100) -> list[str]:
    """Accounts whose grace period is over, oldest request first."""
    cutoff = now - timedelta(days=grace_days)
    query = (
        select(User.id)
        .where(
            User.deletion_requested_at.is_not(None),
            User.deletion_requested_at <= cutoff,
            User.disabled.is_(True),  # re-enabled by an administrator: not purged
        )
        .order_by(User.deletion_requested_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def anonymise(
    session: Session,
    *,
    events: EventRecorder,
    user_id: str,
    grace_days: int,
    now: datetime,
    actor: str,
) -> bool:
    """Remove the personal data of an account whose grace period is over (see the module
    docstring); False when it is not due (any more), e.g. another process did it."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.deletion_requested_at is None or not user.disabled:
        return False
    requested_at = _aware(user.deletion_requested_at)
    if requested_at > now - timedelta(days=grace_days):
        return False
    if session.get(PlatformRole, user.id) is not None:
        return False  # a role granted during the grace period: administrators decide first
    removed: dict[str, Any] = {}
    tables: tuple[tuple[str, Delete], ...] = (
        ("factors", delete(Authenticator).where(Authenticator.user_id == user.id)),
        ("recovery_codes", delete(RecoveryCode).where(RecoveryCode.user_id == user.id)),
        ("sign_ins", delete(SignInRecord).where(SignInRecord.user_id == user.id)),
        ("consents", delete(Consent).where(Consent.user_id == user.id)),
        ("memberships", delete(Membership).where(Membership.user_id == user.id)),
        ("upstream_links", delete(UpstreamLink).where(UpstreamLink.user_id == user.id)),
    )
    for name, statement in tables:
        removed[name] = int(getattr(session.execute(statement), "rowcount", 0) or 0)
    for grant in grants.of_user(session, user.id):  # none unless one slipped in meanwhile
        grants.revoke(session, grant.id, reason="account-deletion")
    user.username = f"{DELETED_PREFIX}{user.id}"
    user.display_name = ""
    user.email = user.phone = user.password_hash = None
    user.phone_verified = False
    user.webauthn_handle = None
    user.national_id_sealed = user.national_id_digest = user.national_id_masked = None
    user.proofing_level, user.proofing_method, user.proofed_at = 1, "self", None
    user.disabled, user.deletion_requested_at, user.updated_at = True, None, now
    events.record(
        session,
        type="account.deleted",
        actor=actor,
        subject=user.id,
        details={"requested_at": requested_at.isoformat(), "removed": removed},
    )
    return True
