"""What a person does to their own account without an administrator: register with a phone
number, change or reset the password, change the verified phone number.

Security contract: the callers have proved what each act needs (a code sent to the phone for
registration and a new number; a recent strong sign-in for a change; a code to the verified
phone plus the person's second factor for a reset) — this module does not check it; new
passwords pass :func:`idp.passwords.check_policy` and are hashed (argon2id) — a changed or
reset one outside any transaction; each act is an audit event in the same transaction as
the change, naming no secret and the phone only masked. A reset password (the account may
have been taken over) ends everything built on the old one in the same transaction: every
grant (offline access too) and every SSO session, the apps told by back-channel logout
(``idp.credential_change``); a changed one ends every session and grant but those of the
session it was changed in.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from core.stored import read_record
from idp import accounts, credential_change, passwords, repository
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sms import mask_phone

_ALPHABET = string.ascii_lowercase + string.digits


def generated_username() -> str:
    """A username for a person who chose none: ``u`` and ten random letters or digits."""
    return "u" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def username_free(idp: IdentityProvider, username: str) -> bool:
    """Whether nobody signs in with ``username`` yet (a hint before a code is spent)."""
    with idp.database.reading() as session:
        return repository.user_by_login(session, username.strip().lower()) is None


def phone_taken(idp: IdentityProvider, phone: str) -> bool:
    """Whether an account already has ``phone``."""
    with idp.database.reading() as session:
        user = repository.user_by_login(session, phone)
    return user is not None and user.phone == phone


def register(
    idp: IdentityProvider,
    *,
    phone: str,
    display_name: str,
    username: str,
    password: str,
    address: str,
) -> User:
    """A citizen's own account: proofing level 1 (self-declared), the phone verified (the
    caller checked a code sent to it). Raises :class:`idp.accounts.AccountError`."""
    chosen = username.strip().lower() or generated_username()
    with idp.database.transaction() as session:
        user = accounts.create_user(
            session,
            data_keys=idp.data_keys,
            events=idp.events,
            username=chosen,
            display_name=display_name,
            actor="self-registration",
            password=password,
            phone=phone,
            proofing_level=1,
        )
        user.phone_verified = True
        idp.events.record(
            session,
            type="user.registered",
            actor=user.id,
            subject=user.id,
            details={
                "username": user.username,
                "phone": mask_phone(phone),
                "address": address,
                "proofing_level": 1,
            },
        )
        session.flush()
    return user


def set_password(
    idp: IdentityProvider,
    *,
    user_id: str,
    password: str,
    reset: bool,
    address: str,
    keep_sid: str | None = None,
) -> credential_change.SignedOut | None:
    """Replace the person's password (``reset``: through a confirmed factor, not the old
    password) and sign them out: a reset everywhere, a change everywhere but the session
    ``keep_sid`` it was made in (a change without ``keep_sid`` signs nothing out: the caller
    then must). Returns what ended; the caller delivers its logout tokens (a route after its
    response). Raises :class:`idp.passwords.WeakPassword`."""
    hashed = passwords.hash_password(password)  # the policy check, outside the transaction
    ended: credential_change.SignedOut | None = None
    with idp.database.transaction() as session:
        user = repository.user(session, user_id)
        if user is None:
            raise accounts.AccountError("the account is gone")
        user.password_hash = hashed
        user.updated_at = datetime.now(UTC)
        idp.events.record(
            session,
            type="password.reset" if reset else "password.changed",
            actor=user_id,
            subject=user_id,
            details={"username": user.username, "address": address},
        )
        if reset or keep_sid is not None:
            ended = credential_change.credentials_changed(
                session,
                idp,
                user_id=user_id,
                reason="password-reset" if reset else "password-changed",
                actor=user_id,
                keep_sid=None if reset else keep_sid,
            )
    if ended is not None:
        credential_change.complete(idp, ended)
    return ended


def set_verified_phone(idp: IdentityProvider, *, user_id: str, phone: str, address: str) -> None:
    """Make ``phone`` the person's verified number (the caller checked a code sent to it).
    Raises :class:`idp.accounts.AccountError` when another account has it."""
    with idp.database.transaction() as session:
        user = repository.user(session, user_id)
        if user is None:
            raise accounts.AccountError("the account is gone")
        old = user.phone
        accounts.update_profile(session, events=idp.events, user=user, actor=user_id, phone=phone)
        user.phone_verified = True
        idp.events.record(
            session,
            type="user.phone_verified",
            actor=user_id,
            subject=user_id,
            details={
                "phone": mask_phone(phone),
                "previous": mask_phone(old) if old else None,
                "address": address,
            },
        )


# --- password reset: a ticket between proving the phone and choosing the new password ---

RESET_SECONDS = 10 * 60


@dataclass
class ResetTicket:
    """A reset in progress: the phone was proved in ``browser``; ``second`` is the second
    factor still to prove with the new password ("" when the person has none); ``recovery``:
    one of the person's recovery codes may stand in for it (see :func:`recovery_for_reset`)."""

    user_id: str
    browser: str
    second: str
    recovery: bool = False


def second_factor_for_reset(available: set[str]) -> str | None:
    """Which second factor a reset asks for besides the phone: "" when the person has none,
    "totp" when they have an authenticator app, None when their only second factors cannot
    be proved on the reset page (they sign in with a passkey instead, or see a counter)."""
    second = available - {"pwd", "sms"}
    if not second:
        return ""
    return "totp" if "totp" in second else None


def recovery_for_reset(available: set[str]) -> bool:
    """Whether a recovery code may stand in for the authenticator app a reset asks for (the
    person lost it): when they have an unused one. As at sign-in, the code is single use and
    its checks count against the ``recovery`` method's attempt limits."""
    return second_factor_for_reset(available) == "totp" and "recovery" in available


def start_reset(idp: IdentityProvider, ticket: ResetTicket) -> str:
    """Store the ticket; its random token goes in the next form."""
    token = secrets.token_urlsafe(24)
    key = idp.store.key("idp", "password-reset", token)
    idp.store.set(key, json.dumps(asdict(ticket)).encode(), ttl=RESET_SECONDS)
    return token


def reset_ticket(idp: IdentityProvider, token: str, *, browser: str) -> ResetTicket | None:
    """The live ticket of ``token`` when it belongs to ``browser``."""
    if not token or len(token) > 64:
        return None
    raw = idp.store.get(idp.store.key("idp", "password-reset", token))
    if raw is None:
        return None
    ticket = read_record(ResetTicket, raw)
    return ticket if secrets.compare_digest(ticket.browser, browser) else None


def finish_reset(idp: IdentityProvider, token: str) -> bool:
    """Spend the ticket (once: of two racing submissions, one wins)."""
    return idp.store.take(idp.store.key("idp", "password-reset", token)) is not None
