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
from idp import passwords, repository
from idp.identifiers import (
    mask_national_id,
    normalise_national_id,
    normalise_uscc,
)
from idp.models import ASSURANCE_LEVELS, ROLES, Membership, Organisation, User
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
    assurance: str = "unverified",
) -> User:
    """A new person; the username is lower-cased and must be unused."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError(
            "usernames have 3-64 characters: a-z, 0-9, '.', '_', '-', at least one letter"
        )
    if len(display_name) > 128 or (email is not None and len(email) > 254):
        raise AccountError("the name or email address is too long")
    if email is not None and not _EMAIL.match(email := email.strip().lower()):
        raise AccountError("the email address is not valid")
    if phone is not None and not _PHONE.match(phone := phone.strip().replace(" ", "")):
        raise AccountError("the phone number is not valid")
    if assurance not in ASSURANCE_LEVELS:
        raise AccountError(f"assurance must be one of {', '.join(ASSURANCE_LEVELS)}")
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
        assurance=assurance,
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
            "assurance": assurance,
            "national_id": user.national_id_masked,
        },
    )
    return user


def _set_national_id(
    session: Session, user: User, *, data_keys: DataKeys, national_id: str
) -> None:
    try:
        number = normalise_national_id(national_id)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    digest = hmac.new(
        data_keys.get(session, NATIONAL_ID_DIGEST_KEY), number.encode(), hashlib.sha256
    ).hexdigest()
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
    session: Session, *, events: EventRecorder, login: str, disabled: bool, actor: str
) -> User:
    """Disable (or re-enable) an account."""
    user = _user(session, login)
    user.disabled, user.updated_at = disabled, _now()
    events.record(
        session,
        type="user.disabled" if disabled else "user.enabled",
        actor=actor,
        subject=user.id,
        details={"username": user.username},
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
