"""Step-up: what a signed-in person still needs for the level a request asks, and adding a
method to the SSO session without signing in again.

Security contract: the person is offered only methods they enrolled before this sign-in
(a new factor cannot be enrolled on the way up: whoever holds only the password would
otherwise add their own); a level above the account's proofing level is never reachable by
signing in harder (``unmet``); each added method is a ``login.step_up`` audit event and a
line of the person's history; ``auth_time`` becomes the time of the step-up (OIDC Core §2:
the time of the latest authentication).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, literal, select, union
from sqlalchemy.orm import Session

from idp import assurance, history, passwords
from idp.login_limits import Refusal
from idp.models import Authenticator, RecoveryCode, User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

# The order methods are offered in on the factor page.
ORDER = ("passkey-uv", "totp", "sms", "pwd", "recovery")


def enrolled(session: Session, user: User) -> set[str]:
    """The methods the person can use now (see :data:`idp.assurance.METHODS`)."""
    methods: set[str] = set()
    if user.password_hash:
        methods.add("pwd")
    if user.phone and user.phone_verified:
        methods.add("sms")
    # One query: the kinds of authenticator, and "recovery" when an unused code is left.
    unused = exists().where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    kinds = set(
        session.scalars(
            union(
                select(Authenticator.kind).where(Authenticator.user_id == user.id),
                select(literal("recovery")).where(unused),
            )
        )
    )
    if "totp" in kinds:
        methods.add("totp")
    if "passkey" in kinds:
        methods.update({"passkey", "passkey-uv"})
    if "recovery" in kinds:
        methods.add("recovery")
    return methods


@dataclass(frozen=True)
class Need:
    """The session is below the level asked: what is asked, reached, and what would help."""

    target: int
    reached: int
    options: tuple[str, ...]  # methods to offer, best first (empty: cannot be reached)
    proofing_short: bool  # the account's proofing level is below the target

    @property
    def reachable(self) -> bool:
        """Whether signing in harder can get there at all."""
        return not self.proofing_short and bool(self.options)

    def kept(self, sso: SsoSession) -> dict[str, Any]:
        """This need as an interaction keeps it (``Interaction.factor_need``), with the
        session it was decided for."""
        return {
            "sid": sso.sid,
            "methods": list(sso.methods),
            "target": self.target,
            "reached": self.reached,
            "options": list(self.options),
            "proofing_short": self.proofing_short,
        }

    @classmethod
    def still(cls, kept: dict[str, Any] | None, sso: SsoSession | None) -> Need | None:
        """The need :meth:`kept` for ``sso``, while it is the same session with the same
        methods (None otherwise: decide again). Only for showing the factor page: what a
        posted factor leads to is decided again in full."""
        if kept is None or sso is None:
            return None
        if kept.get("sid") != sso.sid or kept.get("methods") != list(sso.methods):
            return None
        return cls(
            target=int(kept["target"]),
            reached=int(kept["reached"]),
            options=tuple(kept["options"]),
            proofing_short=bool(kept["proofing_short"]),
        )


def need(*, user: User, methods: Iterable[str], target: int, available: set[str]) -> Need | None:
    """None when the session's ``methods`` reach ``target`` for ``user``; otherwise what is
    missing. ``available`` is :func:`enrolled` for the person."""
    have = list(methods)
    reached = assurance.level(proofing_level=user.proofing_level, methods=have)
    if reached >= target:
        return None
    proofing_short = user.proofing_level < target
    options: tuple[str, ...] = ()
    if not proofing_short and assurance.strength([*have, *available]) >= target:
        options = tuple(
            m for m in ORDER if m in available and assurance.helps(m, have=have, target=target)
        )
    return Need(target=target, reached=reached, options=options, proofing_short=proofing_short)


def short_of(session: Session, *, user: User, methods: Iterable[str], target: int) -> Need | None:
    """:func:`need` for a decision: the person's enrolled methods are read only when
    ``methods`` fall short of ``target`` (they change only what is offered, never whether
    the session is enough, so a session that reaches the level costs no query)."""
    have = list(methods)
    if assurance.level(proofing_level=user.proofing_level, methods=have) >= target:
        return None
    return need(user=user, methods=have, target=target, available=enrolled(session, user))


# How long a strong sign-in lets the person change their own factors and password.
RECENT_SECONDS = 15 * 60


def recently_strong(sso: SsoSession, *, available: set[str], now: float | None = None) -> bool:
    """Whether the session may change the person's own sign-in methods: signed in (or
    stepped up) within :data:`RECENT_SECONDS`, with two kinds of factor when the person has
    a second factor at all (otherwise a stolen password could replace the other factor)."""
    moment = time.time() if now is None else now
    if moment - sso.auth_time > RECENT_SECONDS:
        return False
    second = available - {"pwd"}
    return not second or assurance.strength(sso.methods) >= assurance.ADMIN_LEVEL


def fresh_check(*, methods: Iterable[str], available: set[str], verified: bool) -> Need | None:
    """What a check of our own pages (``/account/verify``) still needs: one method proved
    now (``verified``) and, when the person has a second factor, two kinds of factor in the
    session. Proofing does not matter there. None when done."""
    have = list(methods)
    target = assurance.ADMIN_LEVEL if available - {"pwd"} else 2
    reached = assurance.strength(have)
    if verified and reached >= target:
        return None
    if reached < target:
        options = tuple(
            m for m in ORDER if m in available and assurance.helps(m, have=have, target=target)
        )
    else:  # strong already, but not recently: any one method proves the person is here
        options = tuple(m for m in ORDER if m in available and m != "passkey")
    return Need(target=target, reached=reached, options=options, proofing_short=False)


def add_method(
    idp: IdentityProvider,
    *,
    handle: str,
    user: User,
    method: str,
    address: str,
    user_agent: str,
    details: dict[str, object] | None = None,
) -> SsoSession | None:
    """Add a verified ``method`` to the browser's session (None when the session ended or
    belongs to someone else meanwhile); the caller verified the method for ``user``. The
    history line and the audit event commit first, then the session changes: a step-up is
    never in effect without its records."""
    with idp.database.transaction() as session:
        preview = _record_in(
            session,
            idp,
            handle=handle,
            user=user,
            method=method,
            address=address,
            user_agent=user_agent,
            details=details,
        )
    if preview is None:
        return None
    return _add_to_session(idp, handle=handle, user=user, method=method, now=preview.auth_time)


def _record_in(
    session: Session,
    idp: IdentityProvider,
    *,
    handle: str,
    user: User,
    method: str,
    address: str,
    user_agent: str,
    details: dict[str, object] | None,
) -> SsoSession | None:
    """In ``session``'s transaction, the step-up's records for the browser's session as it
    will be with ``method`` (returned; the store is changed after the commit by
    :func:`_add_to_session`); None, recording nothing, when that session ended or is someone
    else's."""
    preview = _with_method(idp, handle=handle, user=user, method=method)
    if preview is not None:
        _record_step_up(
            idp,
            session,
            user=user,
            updated=preview,
            method=method,
            address=address,
            user_agent=user_agent,
            details=details,
        )
    return preview


def _method_added(s: SsoSession, *, user: User, method: str, now: int) -> None:
    """``s`` with ``method`` among its methods and the level and ``amr`` that follow."""
    methods = [*s.methods, method] if method not in s.methods else list(s.methods)
    level = assurance.level(proofing_level=user.proofing_level, methods=methods)
    s.methods, s.amr, s.acr, s.auth_time = (
        methods,
        assurance.amr(methods),
        assurance.acr(level),
        now,
    )


def _with_method(
    idp: IdentityProvider, *, handle: str, user: User, method: str
) -> SsoSession | None:
    """What the browser's session will be with ``method`` added (the store is not changed);
    None when it ended or is someone else's."""
    current = idp.sessions.get(handle)
    if current is None or current.user_id != user.id:
        return None
    _method_added(current, user=user, method=method, now=int(time.time()))
    return current


def _add_to_session(
    idp: IdentityProvider, *, handle: str, user: User, method: str, now: int
) -> SsoSession | None:
    def change(s: SsoSession) -> None:
        if s.user_id == user.id:
            _method_added(s, user=user, method=method, now=now)

    updated = idp.sessions.update(handle, change)
    if updated is None or updated.user_id != user.id:
        return None
    return updated


def _record_step_up(
    idp: IdentityProvider,
    session: Session,
    *,
    user: User,
    updated: SsoSession,
    method: str,
    address: str,
    user_agent: str,
    details: dict[str, object] | None,
) -> None:
    """The step-up's line of the person's history and its ``login.step_up`` audit event."""
    history.record(
        session,
        user_id=user.id,
        kind="step-up",
        methods=updated.methods,
        acr=updated.acr,
        address=address,
        user_agent=user_agent,
    )
    idp.events.record(
        session,
        type="login.step_up",
        actor=user.id,
        subject=user.id,
        details={
            "sid": updated.sid,
            "method": method,
            "acr": updated.acr,
            "amr": updated.amr,
            "address": address,
            **(details or {}),
        },
    )


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one factor: verified, failed, or refused by the limits."""

    ok: bool
    retry_after: int = 0  # seconds, when the attempt limit refused or now locks the factor
    # check_and_add only: the session with the method added (None when, the factor being
    # right, the session ended or the person was disabled meanwhile: nothing was added).
    session: SsoSession | None = None


def check_factor(
    idp: IdentityProvider,
    *,
    user_id: str,
    method: str,
    address: str,
    verify: Callable[[], bool],
    details: dict[str, object] | None = None,
) -> Checked:
    """Run ``verify`` (the factor's own check) under the factor's attempt limits — per
    account and method, and per source address, like the password's (idp.login_limits) —
    and record a failure as a ``login.factor_failed`` audit event. A success is recorded by
    whoever uses it (:func:`add_method` or :func:`idp.login.open_session`)."""
    account = f"{method}:user:{user_id}"
    refusal = idp.limits.begin(account=account, address=address)
    if refusal is not None:
        return Checked(ok=False, retry_after=refusal.retry_after)
    if verify():
        idp.limits.succeeded(account=account, address=address)
        return Checked(ok=True)
    lock = idp.limits.failed(account=account)
    with idp.database.transaction() as session:
        _record_failure(
            session,
            idp,
            user_id=user_id,
            method=method,
            address=address,
            lock=lock,
            details=details,
        )
    return Checked(ok=False, retry_after=lock.retry_after if lock else 0)


def _record_failure(
    session: Session,
    idp: IdentityProvider,
    *,
    user_id: str,
    method: str,
    address: str,
    lock: Refusal | None,
    details: dict[str, object] | None = None,
) -> None:
    idp.events.record(
        session,
        type="login.factor_failed",
        actor=user_id,
        subject=user_id,
        details={
            "method": method,
            "address": address,
            "locked_for": lock.retry_after if lock else 0,
            **(details or {}),
        },
    )


def check_and_add(
    idp: IdentityProvider,
    *,
    handle: str,
    user_id: str,
    method: str,
    address: str,
    user_agent: str,
    spend: Callable[[Session], bool],
) -> Checked:
    """:func:`check_factor` then :func:`add_method`, in one transaction, for a factor whose
    check writes in the database: ``spend`` verifies the factor and marks it used in the
    transaction it is given (a TOTP step). The mark, the history line and the
    ``login.step_up`` audit event commit together (one commit, one signed checkpoint), and
    then the session gets the method (never in effect without its records); a failure's
    ``login.factor_failed`` event is written in that transaction too. The attempt limits
    are :func:`check_factor`'s."""
    account = f"{method}:user:{user_id}"
    refusal = idp.limits.begin(account=account, address=address)
    if refusal is not None:
        return Checked(ok=False, retry_after=refusal.retry_after)
    preview: SsoSession | None = None
    user: User | None = None
    lock: Refusal | None = None
    with idp.database.transaction() as session:
        ok = spend(session)
        if ok:
            user = session.get(User, user_id)
            if user is not None and not user.disabled:
                preview = _record_in(
                    session,
                    idp,
                    handle=handle,
                    user=user,
                    method=method,
                    address=address,
                    user_agent=user_agent,
                    details=None,
                )
        else:
            lock = idp.limits.failed(account=account)
            _record_failure(
                session, idp, user_id=user_id, method=method, address=address, lock=lock
            )
    if ok:
        idp.limits.succeeded(account=account, address=address)
        updated = None
        if user is not None and preview is not None:
            updated = _add_to_session(
                idp, handle=handle, user=user, method=method, now=preview.auth_time
            )
        return Checked(ok=True, session=updated)
    return Checked(ok=False, retry_after=lock.retry_after if lock else 0)


def password_matches(idp: IdentityProvider, user_id: str, password: str) -> bool:
    """Whether ``password`` is the person's (the hash is checked outside any transaction)."""
    with idp.database.reading() as session:
        user = session.get(User, user_id)
        stored = user.password_hash if user is not None and not user.disabled else None
    matches, _ = passwords.verify_password(stored, password)
    return bool(matches and stored)
