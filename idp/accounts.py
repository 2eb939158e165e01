"""People and organisations: create, change password, disable, authenticate, memberships.

Security contract: passwords are argon2id hashes (``idp.passwords``); the identity number is
stored AES-256-GCM-encrypted under a data key, with a keyed digest for uniqueness and a
masked copy for display, never in clear; every change is recorded in the audit log in the
same transaction; disabled people and organisations cannot sign in or be chosen.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import grants, passwords, repository
from idp.identifiers import (
    mask_national_id,
    normalise_national_id,
    normalise_uscc,
)
from idp.models import PROOFING_LEVELS, PROOFING_METHODS, ROLES, Membership, Organisation, User
from keys.data_keys import DataKeys

# A username needs a letter, so it can never be mistaken for a phone number at login.
_USERNAME = re.compile(r"^(?=.*[a-z])[a-z0-9][a-z0-9_.-]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
NATIONAL_ID_KEY = "national-id"
NATIONAL_ID_DIGEST_KEY = "national-id-digest"


class AccountError(ValueError):
    """An account operation was refused; the message says why (no secrets in it)."""


def _now() -> datetime:
    return datetime.now(UTC)


def create_user(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    username: str,
    display_name: str,
    actor: str,
    password: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    national_id: str | None = None,
    proofing_level: int = 1,
    proofing_method: str | None = None,
) -> User:
    """A new person; the username is lower-cased and must be unused. ``proofing_method`` is
    how the level was reached (default: the level's own method, ``PROOFING_METHODS``)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError(
            "usernames have 3-64 characters: a-z, 0-9, '.', '_', '-', at least one letter"
        )
    if len(display_name) > 128:
        raise AccountError("the name is too long")
    email, phone = _email(email), _phone(phone)
    if proofing_level not in PROOFING_LEVELS:
        raise AccountError("the proofing level must be 1, 2, 3 or 4")
    for login in filter(None, (username, email, phone)):
        if repository.user_by_login(session, login) is not None:
            raise AccountError(f"{login!r} is already used by another account")
    try:
        password_hash = passwords.hash_password(password) if password is not None else None
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    now = _now()
    user = User(
        id=uuid.uuid4().hex,
        username=username,
        email=email,
        phone=phone,
        display_name=display_name.strip() or username,
        password_hash=password_hash,
        proofing_level=proofing_level,
        proofing_method=proofing_method or PROOFING_METHODS[proofing_level],
        proofed_at=now if proofing_level > 1 else None,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    if national_id is not None:
        _set_national_id(session, user, data_keys=data_keys, national_id=national_id)
    try:
        with session.begin_nested():  # a concurrent twin loses here, not with a traceback
            session.add(user)
    except IntegrityError:
        raise AccountError("the username, email, phone or identity number is taken") from None
    events.record(
        session,
        type="user.created",
        actor=actor,
        subject=user.id,
        details={
            "username": username,
            "proofing_level": proofing_level,
            "national_id": user.national_id_masked,
        },
    )
    return user


def _email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise AccountError("the email address is not valid")
    return email


def _phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    phone = phone.strip().replace(" ", "")
    if not _PHONE.match(phone):
        raise AccountError("the phone number is not valid")
    return phone


def update_profile(
    session: Session,
    *,
    events: EventRecorder,
    user: User,
    actor: str,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    clear: frozenset[str] = frozenset(),
) -> list[str]:
    """Change a person's display name, email or phone (``clear`` names the contact fields
    to remove); returns the names of the fields that changed. An email or phone is a login,
    so it must not be another account's."""
    changed: dict[str, str | None] = {}
    if display_name is not None:
        if not display_name.strip() or len(display_name) > 128:
            raise AccountError("a name has 1-128 characters")
        changed["display_name"] = display_name.strip()
    for field, value in (("email", _email(email)), ("phone", _phone(phone))):
        if field in clear:
            changed[field] = None
        elif value is not None:
            holder = repository.user_by_login(session, value)
            if holder is not None and holder.id != user.id:
                raise AccountError(f"{value!r} is already used by another account")
            changed[field] = value
    changed = {k: v for k, v in changed.items() if getattr(user, k) != v}
    if not changed:
        return []
    for field, value in changed.items():
        setattr(user, field, value)
    user.updated_at = _now()
    try:
        with session.begin_nested():  # a concurrent twin taking the same login loses here
            session.flush()
    except IntegrityError:
        raise AccountError("the email or phone is already used by another account") from None
    events.record(
        session,
        type="user.updated",
        actor=actor,
        subject=user.id,
        # Which fields, not their values: the log is read by auditors, not a contact book.
        details={"username": user.username, "fields": sorted(changed)},
    )
    return sorted(changed)


def national_id_digest(session: Session, *, data_keys: DataKeys, number: str) -> str:
    """The keyed digest of a (normalised) identity number, as stored to find duplicates."""
    return hmac.new(
        data_keys.get(session, NATIONAL_ID_DIGEST_KEY), number.encode(), hashlib.sha256
    ).hexdigest()


def holder_of_national_id(session: Session, digest: str) -> User | None:
    """The account whose identity number has this digest, if any."""
    return repository.user_by_national_id_digest(session, digest)


def set_national_id(session: Session, user: User, *, data_keys: DataKeys, national_id: str) -> None:
    """Seal ``national_id`` as the person's identity number (refused when it is another
    account's); the caller records why in the audit log."""
    _set_national_id(session, user, data_keys=data_keys, national_id=national_id)
    try:
        with session.begin_nested():  # a concurrent twin loses here
            session.flush()
    except IntegrityError:
        raise AccountError("this identity number belongs to another account") from None


def _set_national_id(
    session: Session, user: User, *, data_keys: DataKeys, national_id: str
) -> None:
    try:
        number = normalise_national_id(national_id)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    digest = national_id_digest(session, data_keys=data_keys, number=number)
    holder = repository.user_by_national_id_digest(session, digest)
    if holder is not None and holder.id != user.id:
        raise AccountError("this identity number belongs to another account")
    nonce = os.urandom(12)
    sealed = AESGCM(data_keys.get(session, NATIONAL_ID_KEY)).encrypt(
        nonce, number.encode(), user.id.encode()
    )
    user.national_id_sealed = nonce + sealed
    user.national_id_digest = digest
    user.national_id_masked = mask_national_id(number)


def reveal_national_id(session: Session, user: User, *, data_keys: DataKeys) -> str | None:
    """The clear identity number (for verification against an authority, never for display)."""
    if user.national_id_sealed is None:
        return None
    sealed = user.national_id_sealed
    clear = AESGCM(data_keys.get(session, NATIONAL_ID_KEY)).decrypt(
        sealed[:12], sealed[12:], user.id.encode()
    )
    return clear.decode()


def normalise_login(login: str) -> str:
    """Logins compare as created: lower-case, phone numbers without spaces."""
    login = login.strip().lower()
    compact = login.replace(" ", "")
    return compact if _PHONE.match(compact) else login


def _user(session: Session, login: str) -> User:
    user = repository.user_by_login(session, normalise_login(login))
    if user is None:
        raise AccountError(f"no account {login!r}")
    return user


def set_password(
    session: Session, *, events: EventRecorder, login: str, password: str, actor: str
) -> User:
    """Replace a person's password."""
    user = _user(session, login)
    try:
        user.password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    user.updated_at = _now()
    events.record(
        session,
        type="user.password_changed",
        actor=actor,
        subject=user.id,
        details={"username": user.username},
    )
    return user


def set_disabled(
    session: Session,
    *,
    events: EventRecorder,
    login: str,
    disabled: bool,
    actor: str,
    locking: bool = False,
    reason: str | None = None,
) -> User:
    """Disable (or re-enable) an account. A disabled person cannot sign in, an SSO session
    of theirs is not honoured, and every OAuth grant they gave ends now (refresh tokens and
    userinfo stop, for good: re-enabling revives none). ``locking`` records the act as a
    security lock (``user.locked``/``user.unlocked``) rather than an account change.

    An account whose deletion the person asked for stays disabled: lifting a lock leaves it
    so (``deletion_pending`` in the event), and enabling it is refused — cancel the deletion
    (``idp.account_deletion.cancel``), which enables it."""
    user = _user(session, login)
    pending = user.deletion_requested_at is not None
    if not disabled and pending and not locking:
        raise AccountError("the person asked for their account to be deleted: cancel that first")
    user.disabled, user.updated_at = disabled or pending, _now()
    ended = []
    if disabled:
        for grant in grants.of_user(session, user.id):
            if grants.revoke(session, grant.id, reason="account-locked" if locking else "disabled"):
                ended.append(grant.id)
    kind = ("user.locked", "user.unlocked") if locking else ("user.disabled", "user.enabled")
    details: dict[str, object] = {"username": user.username}
    if ended:
        details["grants_ended"] = len(ended)
    if not disabled and pending:
        details["deletion_pending"] = True
    if reason:
        details["reason"] = reason
    events.record(
        session,
        type=kind[0] if disabled else kind[1],
        actor=actor,
        subject=user.id,
        details=details,
    )
    return user


def authenticate(session: Session, *, login: str, password: str) -> User | None:
    """The enabled account whose password this is, upgrading an old hash; else None.

    Always costs one argon2 verification, so timing does not reveal unknown logins."""
    user = repository.user_by_login(session, normalise_login(login))
    stored = user.password_hash if user is not None and not user.disabled else None
    matches, needs_rehash = passwords.verify_password(stored, password)
    if not matches or user is None:
        return None
    if needs_rehash:
        user.password_hash = passwords.rehash(password)
    return user


def create_organisation(
    session: Session, *, events: EventRecorder, name: str, uscc: str, actor: str
) -> Organisation:
    """A new legal person; its unified social credit code must be valid and unused."""
    try:
        code = normalise_uscc(uscc)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    if not name.strip() or len(name) > 200:
        raise AccountError("an organisation needs a name of at most 200 characters")
    if repository.organisation(session, code) is not None:
        raise AccountError(f"an organisation with code {code} exists already")
    organisation = Organisation(
        id=uuid.uuid4().hex, name=name.strip(), uscc=code, disabled=False, created_at=_now()
    )
    try:
        with session.begin_nested():
            session.add(organisation)
    except IntegrityError:
        raise AccountError(f"an organisation with code {code} exists already") from None
    events.record(
        session,
        type="organisation.created",
        actor=actor,
        subject=organisation.id,
        details={"name": organisation.name, "uscc": code},
    )
    return organisation


def add_member(
    session: Session, *, events: EventRecorder, organisation: str, login: str, role: str, actor: str
) -> Membership:
    """Give a person a role in an organisation (replacing an earlier role)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    found = repository.organisation(session, organisation.strip().upper()) or (
        repository.organisation(session, organisation.strip())
    )
    if found is None:
        raise AccountError(f"no organisation {organisation!r}")
    user = _user(session, login)
    if found.disabled or user.disabled:
        raise AccountError("disabled people or organisations cannot be given roles")
    member = repository.membership(session, organisation_id=found.id, user_id=user.id)
    if member is None:
        member = Membership(organisation_id=found.id, user_id=user.id, role=role, created_at=_now())
        session.add(member)
    else:
        member.role = role
    events.record(
        session,
        type="organisation.member_set",
        actor=actor,
        subject=found.id,
        details={"user": user.id, "role": role},
    )
    return member


def update_organisation(
    session: Session,
    *,
    events: EventRecorder,
    organisation: Organisation,
    actor: str,
    name: str | None = None,
    disabled: bool | None = None,
    grants_ended: int | None = None,
) -> list[str]:
    """Rename, disable or re-enable an organisation (a disabled one cannot be chosen at
    sign-in, so its administrators lose ``org:admin`` from the next token); returns the
    names of the fields that changed. ``grants_ended``: how many grants acting for it the
    caller revoked with the change (:mod:`idp.organisation_grants`), for the event."""
    changed: list[str] = []
    if name is not None:
        if not name.strip() or len(name) > 200:
            raise AccountError("an organisation needs a name of at most 200 characters")
        if organisation.name != name.strip():
            organisation.name = name.strip()
            changed.append("name")
    if disabled is not None and organisation.disabled != disabled:
        organisation.disabled = disabled
        changed.append("disabled")
    if changed:
        events.record(
            session,
            type="organisation.updated",
            actor=actor,
            subject=organisation.id,
            details={
                "name": organisation.name,
                "disabled": organisation.disabled,
                **({"grants_ended": grants_ended} if grants_ended is not None else {}),
            },
        )
    return changed


def remove_member(
    session: Session,
    *,
    events: EventRecorder,
    membership: Membership,
    actor: str,
    grants_ended: int | None = None,
) -> None:
    """End a person's membership of an organisation (``grants_ended``: how many of their
    grants acting for it the caller revoked, for the event)."""
    session.delete(membership)
    details: dict[str, object] = {"user": membership.user_id, "role": membership.role}
    if grants_ended is not None:
        details["grants_ended"] = grants_ended
    events.record(
        session,
        type="organisation.member_removed",
        actor=actor,
        subject=membership.organisation_id,
        details=details,
    )
