"""Passkeys (WebAuthn): registering discoverable credentials and checking their assertions,
for passwordless sign-in and as a step-up factor.

Security contract: the relying party is the issuer (RP ID its host name, the only accepted
origin its origin); every ceremony uses a random challenge kept in the shared store for
:data:`CHALLENGE_SECONDS`, taken once (a replayed or expired response finds nothing), and
bound to the browser (its ``tx_browser`` id), the ceremony and, where a session is signed
in, to that SSO session and person; a passwordless sign-in requires user verification (it
must be two factors by itself); an assertion's user handle must be the credential owner's;
a sign counter that does not increase while either side is non-zero means a cloned
authenticator: the assertion is refused and a ``passkey.counter_regressed`` audit event is
recorded; the counter is raised with a conditional update, so of two assertions racing with
the same counter one loses. Registration is a ``passkey.registered`` audit event in the same
transaction. No credential material is logged (ids appear only as a short digest).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core.events import EventRecorder
from core.store import Store
from core.stored import read_record
from idp.models import Authenticator, User

CHALLENGE_SECONDS = 5 * 60
CHALLENGE_BYTES = 32
HANDLE_BYTES = 32
NAME_LENGTH = 64
TIMEOUT_MS = CHALLENGE_SECONDS * 1000
Ceremony = Literal["register", "sign-in", "step-up"]
Verification = Literal["required", "preferred"]


class PasskeyError(ValueError):
    """A ceremony that did not succeed; ``reason`` is a short stable word for audit and
    problem documents (never credential material)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    """Who the credentials are for: the issuer's host name and origin."""

    rp_id: str
    origin: str
    name: str


def relying_party(issuer: str, *, name: str = "Tongxing 通行") -> RelyingParty:
    """The relying party of ``issuer`` (RP ID = its host name; origin = scheme://host:port).
    Browsers refuse WebAuthn on an IP-address origin: serve at a host name."""
    parts = urlsplit(issuer)
    return RelyingParty(
        rp_id=(parts.hostname or "").lower(), origin=f"{parts.scheme}://{parts.netloc}", name=name
    )


# --- challenges -----------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """A challenge issued for one ceremony in one browser (and session)."""

    value: str  # base64url
    ceremony: str
    browser: str
    verification: str
    sid: str | None = None
    user_id: str | None = None
    interaction: str | None = None


def _challenge_key(store: Store, value: str) -> str:
    return store.key("idp", "passkey-challenge", value)


def issue_challenge(
    store: Store,
    *,
    ceremony: Ceremony,
    browser: str,
    verification: Verification,
    sid: str | None = None,
    user_id: str | None = None,
    interaction: str | None = None,
) -> Challenge:
    """A fresh random challenge, stored for :data:`CHALLENGE_SECONDS`."""
    challenge = Challenge(
        value=bytes_to_base64url(os.urandom(CHALLENGE_BYTES)),
        ceremony=ceremony,
        browser=browser,
        verification=verification,
        sid=sid,
        user_id=user_id,
        interaction=interaction,
    )
    store.set(
        _challenge_key(store, challenge.value),
        json.dumps(asdict(challenge)).encode(),
        ttl=CHALLENGE_SECONDS,
    )
    return challenge


def client_challenge(credential: dict[str, Any]) -> str:
    """The challenge a credential response's clientDataJSON names (not yet verified: the
    signature check compares it with the challenge taken from the store)."""
    try:
        raw = credential["response"]["clientDataJSON"]
        if not isinstance(raw, str) or len(raw) > 4096:
            raise TypeError
        return bytes_to_base64url(parse_client_data_json(base64url_to_bytes(raw)).challenge)
    except (KeyError, TypeError, ValueError, WebAuthnException):
        raise PasskeyError("malformed", "the response is not a WebAuthn credential") from None


def take_challenge(
    store: Store,
    credential: dict[str, Any],
    *,
    ceremony: Ceremony,
    browser: str | None,
    sid: str | None = None,
    interaction: str | None = None,
) -> Challenge:
    """Take (once) the challenge the response answers; it must have been issued for this
    ceremony, browser, SSO session and interaction."""
    value = client_challenge(credential)
    raw = store.take(_challenge_key(store, value))
    if raw is None:
        raise PasskeyError("challenge", "the challenge expired or was already used")
    found = read_record(Challenge, raw)
    if (
        not browser
        or not secrets.compare_digest(found.browser, browser)
        or found.ceremony != ceremony
        or found.sid != sid
        or found.interaction != interaction
    ):
        raise PasskeyError("challenge", "the challenge was issued for another ceremony")
    return found


# --- registration ---------------------------------------------------------------------


def user_handle(session: Session, user: User) -> bytes:
    """The person's WebAuthn user handle, created (random, 32 bytes) on first use: it is
    stored on authenticators, so it is not the user id and says nothing about the person."""
    if user.webauthn_handle is None:
        user.webauthn_handle = os.urandom(HANDLE_BYTES)
        session.flush()
    return user.webauthn_handle


def passkeys_of(session: Session, user_id: str) -> list[Authenticator]:
    """The person's passkeys."""
    return list(
        session.scalars(
            select(Authenticator)
            .where(Authenticator.user_id == user_id, Authenticator.kind == "passkey")
            .order_by(Authenticator.created_at)
        )
    )


def _descriptors(authenticators: Iterable[Authenticator]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=a.credential_id,
            transports=[AuthenticatorTransport(t) for t in a.transports or [] if t in known],
        )
        for a in authenticators
        if a.credential_id
    ]


def registration_options(
    session: Session, *, rp: RelyingParty, user: User, challenge: Challenge
) -> str:
    """The ``PublicKeyCredentialCreationOptions`` (JSON) for a new discoverable credential
    of ``user``, excluding the ones they have."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_handle(session, user),
        user_name=user.username,
        user_display_name=user.display_name,
        challenge=_bytes(challenge.value),
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement(challenge.verification),
        ),
        exclude_credentials=_descriptors(passkeys_of(session, user.id)),
    )
    return options_to_json(options)


def register(
    session: Session,
    *,
    rp: RelyingParty,
    events: EventRecorder,
    user: User,
    credential: dict[str, Any],
    challenge: Challenge,
    name: str,
    address: str,
    now: datetime | None = None,
) -> Authenticator:
    """Check a registration response against ``challenge`` and store the passkey (with a
    ``passkey.registered`` audit event, in ``session``)."""
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=_bytes(challenge.value),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=challenge.verification == "required",
        )
    except WebAuthnException as exc:
        raise PasskeyError("invalid", f"the registration was refused: {exc}") from None
    taken = session.scalar(
        select(Authenticator.id).where(Authenticator.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise PasskeyError("duplicate", "this passkey is registered already")
    moment = now or datetime.now(UTC)
    authenticator = Authenticator(
        id=uuid.uuid4().hex,
        user_id=user.id,
        kind="passkey",
        name=name.strip()[:NAME_LENGTH] or "Passkey",
        created_at=moment,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t.value) for t in parsed.response.transports or []],
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type.value == "multi_device",
        backup_state=verified.credential_backed_up,
    )
    session.add(authenticator)
    events.record(
        session,
        type="passkey.registered",
        actor=user.id,
        subject=user.id,
        details={
            "authenticator": authenticator.id,
            "name": authenticator.name,
            "credential": credential_digest(verified.credential_id),
            "aaguid": verified.aaguid,
            "user_verified": verified.user_verified,
            "backup_eligible": authenticator.backup_eligible,
            "address": address,
        },
    )
    return authenticator


# --- authentication -------------------------------------------------------------------


def authentication_options(
    *, rp: RelyingParty, challenge: Challenge, credentials: Iterable[Authenticator] = ()
) -> str:
    """The ``PublicKeyCredentialRequestOptions`` (JSON): no allowed credentials for a
    passwordless sign-in (the authenticator offers the person's discoverable ones), the
    person's passkeys for a step-up."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=_bytes(challenge.value),
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(credentials),
        user_verification=UserVerificationRequirement(challenge.verification),
    )
    return options_to_json(options)


def credential_owner(session: Session, credential: dict[str, Any]) -> str | None:
    """The user id owning the credential a response names (None when unknown)."""
    raw_id = credential.get("rawId") or credential.get("id")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None
    try:
        credential_id = _bytes(raw_id)
    except ValueError:
        return None
    return session.scalar(
        select(Authenticator.user_id).where(
            Authenticator.credential_id == credential_id, Authenticator.kind == "passkey"
        )
    )


@dataclass(frozen=True)
class Asserted:
    """A verified assertion: whose passkey, which, and whether the person was verified."""

    user_id: str
    authenticator_id: str
    user_verified: bool

    @property
    def method(self) -> str:
        """The session method it proves (:data:`idp.assurance.METHODS`)."""
        return "passkey-uv" if self.user_verified else "passkey"


def authenticate(
    session: Session,
    *,
    rp: RelyingParty,
    events: EventRecorder,
    credential: dict[str, Any],
    challenge: Challenge,
    address: str,
    user_id: str | None = None,
    now: datetime | None = None,
) -> Asserted:
    """Check an assertion against ``challenge`` (and, for a step-up, that the passkey is
    ``user_id``'s); raise the counter and note its use in ``session``. A counter regression
    is recorded in ``session`` before :class:`PasskeyError` is raised: commit it."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except WebAuthnException:
        raise PasskeyError("malformed", "the response is not a WebAuthn assertion") from None
    authenticator = session.scalar(
        select(Authenticator).where(
            Authenticator.credential_id == parsed.raw_id, Authenticator.kind == "passkey"
        )
    )
    if authenticator is None or authenticator.public_key is None:
        raise PasskeyError("unknown", "this passkey is not registered")
    owner = session.get(User, authenticator.user_id)
    if owner is None or owner.disabled:
        raise PasskeyError("unknown", "this passkey is not registered")
    if user_id is not None and owner.id != user_id:
        raise PasskeyError("other-person", "this passkey belongs to someone else")
    handle = parsed.response.user_handle
    if handle is not None and (
        owner.webauthn_handle is None or not secrets.compare_digest(handle, owner.webauthn_handle)
    ):
        raise PasskeyError("user-handle", "the user handle is not the passkey owner's")
    if handle is None and user_id is None:  # a discoverable credential names its person
        raise PasskeyError("user-handle", "a passwordless sign-in needs the user handle")
    try:
        # The counter is checked below (to tell a regression from other failures).
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=_bytes(challenge.value),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=authenticator.public_key,
            credential_current_sign_count=0,
            require_user_verification=challenge.verification == "required",
        )
    except WebAuthnException as exc:
        raise PasskeyError("invalid", f"the assertion was refused: {exc}") from None
    stored, new = authenticator.sign_count or 0, verified.new_sign_count
    moment = now or datetime.now(UTC)
    raised = update(Authenticator).where(Authenticator.id == authenticator.id)
    if new or stored:
        raised = raised.where(Authenticator.sign_count < new)
    claimed = session.execute(
        raised.values(
            sign_count=new, backup_state=verified.credential_backed_up, last_used_at=moment
        ).execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        events.record(
            session,
            type="passkey.counter_regressed",
            actor=owner.id,
            subject=owner.id,
            details={
                "authenticator": authenticator.id,
                "stored": stored,
                "presented": new,
                "address": address,
            },
        )
        raise PasskeyError("counter", "the sign counter did not increase (a cloned passkey?)")
    return Asserted(
        user_id=owner.id, authenticator_id=authenticator.id, user_verified=verified.user_verified
    )


def credential_digest(credential_id: bytes) -> str:
    """A short digest naming a credential in audit details (not the id itself)."""
    return hashlib.sha256(credential_id).hexdigest()[:16]


def _bytes(value: str) -> bytes:
    try:
        return base64url_to_bytes(value)
    except (ValueError, TypeError):
        raise ValueError("not base64url") from None
