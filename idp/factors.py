"""A person's sign-in methods beyond the password: listing, enrolling a TOTP authenticator,
renaming and removing any authenticator (TOTP or passkey), and the pending TOTP enrolment.

Security contract: every enrolment, rename and removal is an audit event in the same
transaction as the change (``factor.enrolled`` / ``factor.renamed`` / ``factor.removed`` /
``factors.reset``), naming the kind and the authenticator's id, never a secret; a person only
ever touches their own authenticators (every query is by user id and authenticator id). A
TOTP secret being enrolled waits in the store for :data:`PENDING_SECONDS`, sealed under the
``totp`` data key and bound to the SSO session that started it (never in a cookie or a form
field); it is taken (read and deleted) once confirmed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.events import EventRecorder
from core.store import Store
from idp import recovery_codes, totp
from idp.models import Authenticator, Membership, PlatformRole
from keys.data_keys import DataKeys

KINDS = ("totp", "passkey")
# The issuer authenticator apps show next to the account name.
ISSUER_LABEL = "Tongxing"
NAME_LENGTH = 64
PENDING_SECONDS = 10 * 60
_STORE_DOMAIN = "idp"
_STORE_PURPOSE = "totp-enrolment"


def of_user(session: Session, user_id: str) -> Sequence[Authenticator]:
    """The person's authenticators, oldest first."""
    return session.scalars(
        select(Authenticator)
        .where(Authenticator.user_id == user_id)
        .order_by(Authenticator.created_at, Authenticator.id)
    ).all()


def holds_admin_role(session: Session, user_id: str) -> bool:
    """Whether the person holds a platform role or administers an organisation (both need
    a second factor to act in the console)."""
    if session.get(PlatformRole, user_id) is not None:
        return True
    found = session.scalar(
        select(Membership.user_id)
        .where(Membership.user_id == user_id, Membership.role == "admin")
        .limit(1)
    )
    return found is not None


def clean_name(name: str, default: str) -> str:
    """A name as stored: one line, trimmed, at most :data:`NAME_LENGTH` characters."""
    cleaned = " ".join(name.split())[:NAME_LENGTH]
    return cleaned or default


def enrol_totp(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    user_id: str,
    secret: bytes,
    name: str,
    actor: str,
    confirmed_step: int | None,
    now: float | None = None,
) -> Authenticator:
    """Store a TOTP authenticator and record ``factor.enrolled``. ``confirmed_step`` is the
    time step of the code the person typed to confirm (spent: it cannot be used again);
    None when an operator enrols for the person (nothing confirmed yet)."""
    authenticator = totp.add(
        session,
        data_keys=data_keys,
        user_id=user_id,
        secret=secret,
        name=clean_name(name, "TOTP"),
        now=now,
        confirmed_step=confirmed_step,
    )
    session.flush()
    events.record(
        session,
        type="factor.enrolled",
        actor=actor,
        subject=user_id,
        details={
            "kind": "totp",
            "authenticator": authenticator.id,
            "name": authenticator.name,
            "confirmed": confirmed_step is not None,
        },
    )
    return authenticator


def rename(
    session: Session,
    *,
    events: EventRecorder,
    user_id: str,
    authenticator_id: str,
    name: str,
    actor: str,
) -> Authenticator | None:
    """Give one of the person's authenticators a new name (None: not theirs or gone)."""
    authenticator = _own(session, user_id, authenticator_id)
    if authenticator is None:
        return None
    old, new = authenticator.name, clean_name(name, authenticator.name)
    if new != old:
        authenticator.name = new
        events.record(
            session,
            type="factor.renamed",
            actor=actor,
            subject=user_id,
            details={
                "kind": authenticator.kind,
                "authenticator": authenticator.id,
                "from": old,
                "to": new,
            },
        )
    return authenticator


def remove(
    session: Session,
    *,
    events: EventRecorder,
    user_id: str,
    authenticator_id: str,
    actor: str,
) -> Authenticator | None:
    """Remove one of the person's authenticators (None: not theirs or gone). When it was
    the last one, the recovery codes go too: they recover a second factor that no longer
    exists, and would otherwise stay a way in."""
    authenticator = _own(session, user_id, authenticator_id)
    if authenticator is None:
        return None
    session.delete(authenticator)
    session.flush()
    last = not of_user(session, user_id)
    codes = recovery_codes.remove_all(session, user_id) if last else 0
    events.record(
        session,
        type="factor.removed",
        actor=actor,
        subject=user_id,
        details={
            "kind": authenticator.kind,
            "authenticator": authenticator.id,
            "name": authenticator.name,
            "last": last,
            "recovery_codes_removed": codes,
        },
    )
    return authenticator


@dataclass(frozen=True)
class Reset:
    """What an administrator's reset removed."""

    authenticators: int
    recovery_codes: int


def reset(
    session: Session, *, events: EventRecorder, user_id: str, actor: str, reason: str
) -> Reset:
    """Remove every authenticator and recovery code of the person (an administrator, after
    checking the person in person) and record ``factors.reset`` with the reason."""
    kinds = [a.kind for a in of_user(session, user_id)]
    session.execute(
        delete(Authenticator)
        .where(Authenticator.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    codes = recovery_codes.remove_all(session, user_id)
    events.record(
        session,
        type="factors.reset",
        actor=actor,
        subject=user_id,
        details={
            "authenticators": len(kinds),
            "kinds": sorted(set(kinds)),
            "recovery_codes_removed": codes,
            "reason": reason,
        },
    )
    return Reset(authenticators=len(kinds), recovery_codes=codes)


def _own(session: Session, user_id: str, authenticator_id: str) -> Authenticator | None:
    found = session.get(Authenticator, authenticator_id) if authenticator_id else None
    if found is None or found.user_id != user_id:
        return None
    return found


# The pending enrolment: a secret waiting for its first code, bound to one SSO session.


def _pending_key(store: Store, sid: str) -> str:
    return store.key(_STORE_DOMAIN, _STORE_PURPOSE, sid)


def start_pending(store: Store, *, key: bytes, sid: str) -> bytes:
    """A fresh secret for the SSO session ``sid`` to enrol (replacing any earlier one)."""
    secret = totp.new_secret()
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, secret, f"enrol:{sid}".encode())
    store.set(_pending_key(store, sid), sealed, ttl=PENDING_SECONDS)
    return secret


def has_pending(store: Store, *, sid: str) -> bool:
    """Whether the session started an enrolment that has not expired."""
    return store.get(_pending_key(store, sid)) is not None


def pending(store: Store, *, key: bytes, sid: str) -> bytes | None:
    """The secret the session is enrolling, or None (none started, or expired)."""
    return _open(store.get(_pending_key(store, sid)), key=key, sid=sid)


def take_pending(store: Store, *, key: bytes, sid: str) -> bytes | None:
    """Read and delete the pending secret (of concurrent takers, one gets it)."""
    return _open(store.take(_pending_key(store, sid)), key=key, sid=sid)


def drop_pending(store: Store, *, sid: str) -> None:
    """Forget the session's pending enrolment (cancelled)."""
    store.delete(_pending_key(store, sid))


def _open(sealed: bytes | None, *, key: bytes, sid: str) -> bytes | None:
    if not sealed or len(sealed) < 13:
        return None
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], f"enrol:{sid}".encode())
    except InvalidTag:
        return None


def confirm_step(secret: bytes, code: str, *, now: float | None = None) -> int | None:
    """The time step the typed ``code`` matches for a secret being enrolled, or None."""
    return totp.matching_step(secret, code, now=time.time() if now is None else now, after=None)


def when(moment: datetime | None) -> float | None:
    """A stored time as a Unix time (None stays None)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.timestamp()
