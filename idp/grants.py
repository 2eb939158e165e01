"""Grants and refresh tokens in SQL: creation, rotation with reuse detection, revocation.

Security contract: refresh tokens are 256 random bits stored as SHA-256 digests; each use
rotates the token in one conditional UPDATE (``used_at IS NULL``), atomic on SQLite and
PostgreSQL, so of two concurrent uses exactly one wins; presenting a used token revokes the
whole grant (OAuth 2.0 Security BCP §4.14.2). A revoked grant stays revoked: revocation
inserts a tombstone when the grant does not exist yet, so an in-flight redemption of a
replayed code cannot resurrect it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.models import Grant, RefreshToken


class GrantRevoked(Exception):
    """The grant was revoked (e.g. by a replayed code) before it could be created."""


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    *,
    grant_id: str,
    client_id: str,
    user_id: str,
    sid: str,
    scopes: list[str],
    context: dict[str, Any],
) -> Grant:
    """Record a new grant; :class:`GrantRevoked` if it was revoked while in flight (a
    tombstone holds its id), after which the session's transaction is spoiled: the caller
    ends it (no savepoint: its only caller answers ``invalid_grant`` then, writing nothing)."""
    grant = Grant(
        id=grant_id,
        client_id=client_id,
        user_id=user_id,
        sid=sid,
        scopes=scopes,
        context=context,
        created_at=_now(),
    )
    session.add(grant)
    try:
        session.flush()  # a tombstone's primary key refuses it here, at once
    except IntegrityError:
        raise GrantRevoked(grant_id) from None
    return grant


def get(session: Session, grant_id: str) -> Grant | None:
    """A grant by id."""
    return session.get(Grant, grant_id)


def active(session: Session, grant_id: str) -> Grant | None:
    """The grant if it exists and is not revoked."""
    grant = session.get(Grant, grant_id)
    return grant if grant is not None and grant.revoked_at is None else None


def revoke(session: Session, grant_id: str, *, reason: str, client_id: str = "") -> bool:
    """Revoke a grant (or leave a tombstone); returns whether it was active before."""
    grant = session.get(Grant, grant_id, with_for_update=True)
    if grant is None:
        try:
            with session.begin_nested():
                session.add(
                    Grant(
                        id=grant_id,
                        client_id=client_id,
                        scopes=[],
                        context={},
                        created_at=_now(),
                        revoked_at=_now(),
                        revoked_reason=reason,
                    )
                )
        except IntegrityError:
            return revoke(session, grant_id, reason=reason, client_id=client_id)
        return False
    if grant.revoked_at is not None:
        return False
    grant.revoked_at = _now()
    grant.revoked_reason = reason
    return True


def of_session(session: Session, sid: str) -> Sequence[Grant]:
    """Active grants issued in an SSO session."""
    query = select(Grant).where(Grant.sid == sid, Grant.revoked_at.is_(None))
    return session.scalars(query).all()


def of_user(session: Session, user_id: str) -> Sequence[Grant]:
    """A person's active grants, newest first."""
    query = (
        select(Grant)
        .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
        .order_by(Grant.created_at.desc())
    )
    return session.scalars(query).all()


def issue_refresh_token(session: Session, *, grant: Grant, lifetime: timedelta) -> str:
    """A new refresh token for ``grant``."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        RefreshToken(
            digest=_digest(token),
            grant_id=grant.id,
            client_id=grant.client_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


@dataclass(frozen=True)
class Rotation:
    """The result of presenting a refresh token."""

    grant: Grant | None
    reused_grant_id: str | None = None


def use_refresh_token(session: Session, token: str, *, client_id: str) -> Rotation:
    """Spend ``token`` for ``client_id``; a reused token names its grant for revocation."""
    if not token or len(token) > 128:
        return Rotation(grant=None)
    digest = _digest(token)
    stored = session.get(RefreshToken, digest)
    if stored is None or stored.client_id != client_id:
        return Rotation(grant=None)  # unknown, or bound to another client
    if stored.expires_at.replace(tzinfo=stored.expires_at.tzinfo or UTC) <= _now():
        return Rotation(grant=None)
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.digest == digest, RefreshToken.used_at.is_(None))
        .values(used_at=_now())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return Rotation(grant=None, reused_grant_id=stored.grant_id)
    return Rotation(grant=active(session, stored.grant_id))


def refresh_token_state(session: Session, token: str) -> tuple[RefreshToken, Grant] | None:
    """A live (unused, unexpired, grant active) refresh token and its grant, for
    introspection and revocation."""
    if not token or len(token) > 128:
        return None
    stored = session.get(RefreshToken, _digest(token))
    if stored is None or stored.used_at is not None:
        return None
    if stored.expires_at.replace(tzinfo=stored.expires_at.tzinfo or UTC) <= _now():
        return None
    grant = active(session, stored.grant_id)
    return (stored, grant) if grant is not None else None
