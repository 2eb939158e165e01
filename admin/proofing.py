"""Administrators and a person's identity proofing: level 4 recorded at a counter, a level
lowered when the identity is in doubt, and the clear identity number shown to an
administrator who says why.

Rules: level 4 (in person at a counter, 现场核验) is recorded by the system administrator —
the staff at the counter — never for themselves (nobody vouches for their own identity);
lowering a level is the security administrator's act (like a lock, it protects people), and
the grants whose tokens assert more than the new level are revoked with it, their apps
signed out of the sessions they came from (``idp.credential_change.level_lowered``);
revealing an identity number in clear is for the system or security administrator, with a
reason, and is itself an audit event (``person.national_id_revealed``) — nothing else ever
shows the clear number. Every act names the actor and is audited in its transaction; the
identity number appears only masked in the log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from admin import people, policy, versions
from admin.actors import SECURITY, SYSTEM, Actor
from admin.errors import Invalid, NotFound
from admin.service import Administration
from idp import accounts, credential_change
from idp.accounts import AccountError
from idp.identifiers import normalise_national_id
from idp.models import PROOFING_METHODS, User

MAX_NOTE = 500


def _person(session: Session, ref: str) -> User:
    user = people.find(session, ref, for_update=True)
    if user is None:
        raise NotFound(f"there is no person {ref!r}")
    return user


def _reason(text: str | None, *, what: str) -> str:
    reason = (text or "").strip()
    if len(reason) < 2 or len(reason) > MAX_NOTE:
        raise Invalid(f"{what} needs a reason of 2-{MAX_NOTE} characters (it is audited)")
    return reason


def record_in_person(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    note: str,
    if_match: str | None,
    national_id: str | None = None,
) -> dict[str, Any]:
    """Level 4: the person was checked in person at a counter (system administrator, not
    for themselves). ``note`` says what was seen (e.g. which document); ``national_id``
    records the number read from it when the account has none yet (it must then match an
    existing one, if any)."""
    with admin.acting(actor, "people.proofing_in_person") as session:
        policy.require_role(actor, SYSTEM)
        user = _person(session, ref)
        versions.check(if_match, people.view(session, user))
        if user.id == actor.id:
            raise Invalid("nobody records their own in-person check; ask another administrator")
        if user.disabled:
            raise Invalid(f"{user.username} is disabled; enable the account first")
        evidence = _reason(note, what="an in-person check")
        if national_id:
            try:
                number = normalise_national_id(national_id)
            except ValueError as exc:
                raise Invalid(str(exc)) from None
            if user.national_id_sealed is not None:
                held = accounts.reveal_national_id(session, user, data_keys=admin.data_keys)
                if held != number:
                    raise Invalid(
                        "the account has another identity number; the security "
                        "administrator lowers the level first if the identity is in doubt"
                    )
            else:
                try:
                    accounts.set_national_id(
                        session, user, data_keys=admin.data_keys, national_id=number
                    )
                except AccountError as exc:
                    raise Invalid(str(exc)) from None
        elif user.national_id_sealed is None:
            raise Invalid("record the identity number read at the counter (national_id)")
        before = user.proofing_level
        _set_level(user, 4)
        admin.events.record(
            session,
            type="person.proofing_recorded",
            actor=actor.label,
            subject=user.id,
            details={
                "username": user.username,
                "level_before": before,
                "level": 4,
                "method": "counter",
                "note": evidence,
                "national_id": user.national_id_masked,
            },
        )
        session.flush()
        return people.view(session, user)


def lower_level(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    level: int,
    reason: str,
    if_match: str | None,
) -> dict[str, Any]:
    """Lower a person's proofing level when their identity is in doubt (security
    administrator). Grants whose ``acr`` is above the new level are revoked (their refresh
    tokens fail, their access tokens stop) and their apps are signed out of the sessions
    they came from; grants at or below it, and the SSO sessions, go on (the next sign-in to
    an app carries the new level). Tokens issued before act with the new level at the admin
    API at once (``admin.actors``)."""
    with admin.acting(actor, "people.proofing_lowered") as session:
        policy.require_role(actor, SECURITY)
        user = _person(session, ref)
        versions.check(if_match, people.view(session, user))
        if level not in PROOFING_METHODS or level >= user.proofing_level:
            raise Invalid(f"{user.username} is at level {user.proofing_level}; give a lower one")
        why = _reason(reason, what="lowering a level")
        before = user.proofing_level
        _set_level(user, level)
        admin.events.record(
            session,
            type="person.proofing_lowered",
            actor=actor.label,
            subject=user.id,
            details={
                "username": user.username,
                "level_before": before,
                "level": level,
                "reason": why,
            },
        )
        ended = credential_change.level_lowered(
            session,
            admin.identity,
            user_id=user.id,
            level=level,
            reason="proofing-lowered",
            actor=actor.label,
        )
        session.flush()
        view = people.view(session, user)
    credential_change.complete(admin.identity, ended)
    credential_change.deliver_now(admin.identity, ended)
    return view


def set_level(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    level: int,
    note: str,
    if_match: str | None,
    national_id: str | None = None,
) -> dict[str, Any]:
    """What ``POST …/proofing`` does: level 4 records an in-person check, a lower level
    than the person's lowers it; anything else is refused (levels 2 and 3 are reached by
    the person's own checks on the account page)."""
    if level == 4:
        return record_in_person(
            admin, actor, ref=ref, note=note, if_match=if_match, national_id=national_id
        )
    if national_id:
        raise Invalid("an identity number is only recorded with an in-person check (level 4)")
    return lower_level(admin, actor, ref=ref, level=level, reason=note, if_match=if_match)


def _set_level(user: User, level: int) -> None:
    now = datetime.now(UTC)
    user.proofing_level = level
    user.proofing_method = PROOFING_METHODS[level]
    user.proofed_at = now if level > 1 else None
    user.updated_at = now


def reveal_national_id(
    admin: Administration, actor: Actor, *, ref: str, reason: str
) -> dict[str, Any]:
    """The person's identity number in clear, for an administrator who says why (system or
    security administrator); audited as ``person.national_id_revealed``."""
    with admin.acting(actor, "people.national_id_reveal") as session:
        policy.require_role(actor, SYSTEM, SECURITY)
        user = people.find(session, ref)
        if user is None:
            raise NotFound(f"there is no person {ref!r}")
        why = _reason(reason, what="showing an identity number")
        number = accounts.reveal_national_id(session, user, data_keys=admin.data_keys)
        if number is None:
            raise NotFound(f"{user.username} has no identity number on record")
        admin.events.record(
            session,
            type="person.national_id_revealed",
            actor=actor.label,
            subject=user.id,
            details={
                "username": user.username,
                "reason": why,
                "national_id": user.national_id_masked,
            },
        )
        return {"id": user.id, "username": user.username, "national_id": number}
