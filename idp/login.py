"""Signing in with a password, and the SSO session every sign-in opens: limits,
verification, the session, the person's sign-in history, the audit trail (a password whose
request needs a second factor waits for it in the interaction: :mod:`idp.first_factor`).

Security contract: refused attempts (locked source or address) cost no password hash; an
attempt counts against the browser's device cookie when it holds a valid one for the account,
otherwise against the account's untrusted sources (:mod:`idp.login_limits`), and every
success hands the browser a fresh device cookie for the account;
every success and failure is an audit event (failures name the account only when it
exists — the typed name is never recorded); the password hash is verified outside any
database transaction (it takes tens of milliseconds); signing in as someone else ends the
browser's previous session first, so two people never share one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from idp import accounts, assurance, device_cookies, history, passwords, repository
from idp.login_limits import Refusal
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the session (and a new cookie handle when one was created)."""

    session: SsoSession
    handle: str
    ended: SsoSession | None  # the previous person's session in this browser, now ended
    device_cookie: str  # the browser's new device cookie (see idp.device_cookies)


@dataclass(frozen=True)
class Failed:
    """Wrong name or password (never saying which), or a lock with its duration."""

    refusal: Refusal | None


@dataclass(frozen=True)
class PasswordChecked:
    """The password is the person's: who they are and the browser's new device cookie."""

    user: User
    device_cookie: str  # the browser's new device cookie (see idp.device_cookies)


def check_password(
    idp: IdentityProvider,
    *,
    login: str,
    password: str,
    address: str,
    device_cookie: str | None = None,
) -> PasswordChecked | Failed:
    """Check the credentials under the attempt limits (a success or a failure counted,
    a failure audited); ``device_cookie`` is the browser's device cookie as presented (None
    when it has none). Opens no session: :func:`sign_in` does, or a sign-in that needs a
    second factor holds the result (:mod:`idp.first_factor`)."""
    normalised = accounts.normalise_login(login)
    with idp.database.reading() as session:
        user = repository.user_by_login(session, normalised)
        stored = user.password_hash if user is not None and not user.disabled else None
    account = f"user:{user.id}" if user is not None else f"login:{normalised}"
    bound = _device_account(account, stored)
    device_key = idp.data_key(device_cookies.DATA_KEY_PURPOSE)
    device = device_cookies.recognise(key=device_key, account=bound, presented=device_cookie)
    refusal = idp.limits.begin(account=account, address=address, device=device)
    if refusal is not None:
        return Failed(refusal=refusal)
    matches, needs_rehash = passwords.verify_password(stored, password)
    if not matches or user is None:
        lock = idp.limits.failed(account=account, device=device)
        with idp.database.transaction() as session:
            idp.events.record(
                session,
                type="login.failed",
                actor=user.id if user is not None else "anonymous",
                subject=user.id if user is not None else "unknown-account",
                details={
                    "address": address,
                    "locked_for": lock.retry_after if lock else 0,
                    "known_device": device is not None,
                },
            )
        return Failed(refusal=lock)
    idp.limits.succeeded(account=account, address=address, device=device)
    rehashed = passwords.rehash(password) if needs_rehash else None
    if rehashed is not None:  # the cookie is issued for the hash stored below
        bound = _device_account(account, rehashed)
    new_device_cookie = device_cookies.issue(key=device_key, account=bound, presented=device_cookie)
    if rehashed is not None:
        with idp.database.transaction() as session:
            fresh = repository.user(session, user.id)
            if fresh is not None:
                fresh.password_hash = rehashed
                user.password_hash = rehashed
    return PasswordChecked(user=user, device_cookie=new_device_cookie)


def sign_in(
    idp: IdentityProvider,
    *,
    login: str,
    password: str,
    address: str,
    user_agent: str,
    handle: str | None,
    device_cookie: str | None = None,
) -> SignedIn | Failed:
    """Check the credentials (:func:`check_password`) and open (or refresh) the browser's
    SSO session."""
    checked = check_password(
        idp, login=login, password=password, address=address, device_cookie=device_cookie
    )
    if isinstance(checked, Failed):
        return checked
    opened = open_session(
        idp,
        user=checked.user,
        methods=["pwd"],
        address=address,
        user_agent=user_agent,
        handle=handle,
    )
    return SignedIn(
        session=opened.session,
        handle=opened.handle,
        ended=opened.ended,
        device_cookie=checked.device_cookie,
    )


@dataclass(frozen=True)
class Opened:
    """A session opened (or refreshed) by a first-factor sign-in."""

    session: SsoSession
    handle: str
    ended: SsoSession | None  # the previous person's session in this browser, now ended


def open_session(
    idp: IdentityProvider,
    *,
    user: User,
    methods: list[str],
    address: str,
    user_agent: str,
    handle: str | None,
    details: dict[str, Any] | None = None,
    auth_time: int | None = None,
) -> Opened:
    """Open the browser's SSO session for ``user`` signed in with ``methods`` (or start the
    person's session afresh with them), record the sign-in in the person's history and as a
    ``login.succeeded`` audit event. Every sign-in (password, passkey, SMS code, QR
    approval, federation, a password completed by its second factor) ends here; the caller
    has verified the methods. ``auth_time`` is when the person authenticated when that was
    not now (an upstream provider's sign-in): never later than now."""
    now = int(time.time())
    at = now if auth_time is None else min(auth_time, now)
    level = assurance.level(proofing_level=user.proofing_level, methods=methods)
    acr, amr = assurance.acr(level), assurance.amr(methods)
    current = idp.sessions.get(handle)
    opened: Opened | None = None
    if current is not None and current.user_id == user.id and handle is not None:

        def refresh(s: SsoSession) -> None:
            s.auth_time, s.methods, s.amr, s.acr = at, list(methods), amr, acr

        refreshed = idp.sessions.update(handle, refresh)
        if refreshed is not None:
            opened = Opened(session=refreshed, handle=handle, ended=None)
    if opened is None:
        ended = idp.sessions.end(handle) if current is not None else None
        new_handle, created = idp.sessions.create(
            user_id=user.id,
            methods=methods,
            amr=amr,
            acr=acr,
            user_agent=user_agent,
            address=address,
            now=now,
            auth_time=at,
        )
        opened = Opened(session=created, handle=new_handle, ended=ended)
    with idp.database.transaction() as session:
        history.record(
            session,
            user_id=user.id,
            kind="sign-in",
            methods=methods,
            acr=acr,
            address=address,
            user_agent=user_agent,
        )
        idp.events.record(
            session,
            type="login.succeeded",
            actor=user.id,
            subject=user.id,
            details={
                "address": address,
                "sid": opened.session.sid,
                "acr": acr,
                "amr": amr,
                **(details or {}),
            },
        )
    return opened


def _device_account(account: str, password_hash: str | None) -> str:
    """What a device cookie is bound to: the account and its password, so a new password (a
    reset after a takeover, say) makes every browser a stranger until it signs in anew."""
    return account + ":" + hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]
