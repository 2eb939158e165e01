"""Passkeys in the IdP's flows: challenges issued and taken for a browser, assertions checked
under the per-factor attempt limits, enrolment only after a recent, strong sign-in.

Security contract: every failed assertion counts against the passkey attempt limits of its
owner and the source address (:func:`idp.step_up.check_factor`) and is a
``login.factor_failed`` audit event naming the reason (an unknown credential, which names
nobody, is a ``login.failed`` event); a step-up assertion must be by one of the signed-in
person's passkeys; a new passkey needs :func:`idp.step_up.recently_strong` when its options
are asked for and again when it is stored; a refused enrolment is a
``passkey.registration_failed`` audit event. See :mod:`idp.passkeys` for the ceremonies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from idp import passkeys, repository, step_up
from idp.passkeys import Asserted, Ceremony, PasskeyError, RelyingParty, Verification
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession


@dataclass(frozen=True)
class Refused:
    """Why a ceremony failed (a short stable word), and the lock when the limit hit."""

    reason: str
    retry_after: int = 0


def relying_party(idp: IdentityProvider) -> RelyingParty:
    """The relying party our issuer is."""
    return passkeys.relying_party(idp.issuer)


def available(idp: IdentityProvider) -> bool:
    """Whether browsers can use passkeys with us: WebAuthn needs a host name, not an IP."""
    try:
        ipaddress.ip_address(relying_party(idp).rp_id.strip("[]"))
    except ValueError:
        return True
    return False


def assertion_options(
    idp: IdentityProvider,
    *,
    ceremony: Ceremony,
    browser: str,
    verification: Verification,
    interaction: str,
    sso: SsoSession | None = None,
) -> str:
    """WebAuthn request options with a fresh challenge: any discoverable passkey for a
    sign-in, the signed-in person's passkeys for a step-up (``sso``)."""
    mine = []
    if sso is not None:
        with idp.database.reading() as session:
            mine = passkeys.passkeys_of(session, sso.user_id)
    challenge = passkeys.issue_challenge(
        idp.store,
        ceremony=ceremony,
        browser=browser,
        verification=verification,
        sid=sso.sid if sso is not None else None,
        user_id=sso.user_id if sso is not None else None,
        interaction=interaction,
    )
    return passkeys.authentication_options(
        rp=relying_party(idp), challenge=challenge, credentials=mine
    )


def check_assertion(
    idp: IdentityProvider,
    *,
    credential: dict[str, Any],
    ceremony: Ceremony,
    browser: str | None,
    interaction: str,
    address: str,
    sso: SsoSession | None = None,
) -> Asserted | Refused:
    """Take the challenge the assertion answers and check the assertion under the passkey
    attempt limits; for a step-up (``sso``) it must be the signed-in person's passkey."""
    try:
        challenge = passkeys.take_challenge(
            idp.store,
            credential,
            ceremony=ceremony,
            browser=browser,
            sid=sso.sid if sso is not None else None,
            interaction=interaction,
        )
    except PasskeyError as exc:
        return Refused(exc.reason)
    if sso is not None:
        owner: str | None = sso.user_id
    else:
        with idp.database.reading() as session:
            owner = passkeys.credential_owner(session, credential)
    if owner is None:
        with idp.database.transaction() as session:
            idp.events.record(
                session,
                type="login.failed",
                actor="anonymous",
                subject="unknown-account",
                details={"address": address, "method": "passkey", "reason": "unknown"},
            )
        return Refused("unknown")
    asserted: Asserted | None = None
    details: dict[str, object] = {"reason": "invalid"}  # filled in before it is recorded

    def verify() -> bool:
        nonlocal asserted
        with idp.database.transaction() as session:
            try:
                asserted = passkeys.authenticate(
                    session,
                    rp=relying_party(idp),
                    events=idp.events,
                    credential=credential,
                    challenge=challenge,
                    address=address,
                    user_id=sso.user_id if sso is not None else None,
                )
            except PasskeyError as exc:  # committed: a counter regression is recorded
                details["reason"] = exc.reason
        return asserted is not None

    checked = step_up.check_factor(
        idp, user_id=owner, method="passkey", address=address, verify=verify, details=details
    )
    if checked.ok and asserted is not None:
        return asserted
    return Refused(str(details["reason"]), retry_after=checked.retry_after)


def may_enrol(idp: IdentityProvider, sso: SsoSession) -> bool:
    """Whether the session may add a passkey now (:func:`idp.step_up.recently_strong`)."""
    with idp.database.reading() as session:
        user = repository.user(session, sso.user_id)
        if user is None or user.disabled:
            return False
        return step_up.recently_strong(sso, available=step_up.enrolled(session, user))


def registration_options(idp: IdentityProvider, *, sso: SsoSession, browser: str) -> str:
    """WebAuthn creation options for the signed-in person, with a fresh challenge bound to
    the browser and the session (the caller checked :func:`may_enrol`)."""
    challenge = passkeys.issue_challenge(
        idp.store,
        ceremony="register",
        browser=browser,
        verification="preferred",
        sid=sso.sid,
        user_id=sso.user_id,
    )
    with idp.database.transaction() as session:
        user = repository.user(session, sso.user_id)
        if user is None:
            raise PasskeyError("unknown", "the account is gone")
        return passkeys.registration_options(
            session, rp=relying_party(idp), user=user, challenge=challenge
        )


def enrol(
    idp: IdentityProvider,
    *,
    sso: SsoSession,
    browser: str | None,
    credential: dict[str, Any],
    name: str,
    address: str,
) -> Refused | None:
    """Store the passkey a registration response creates (None), or say why not."""
    try:
        challenge = passkeys.take_challenge(
            idp.store, credential, ceremony="register", browser=browser, sid=sso.sid
        )
    except PasskeyError as exc:
        return Refused(exc.reason)
    try:
        if challenge.user_id != sso.user_id or not may_enrol(idp, sso):
            raise PasskeyError("not-allowed", "the session may not add a passkey now")
        with idp.database.transaction() as session:
            user = repository.user(session, sso.user_id)
            if user is None:
                raise PasskeyError("unknown", "the account is gone")
            passkeys.register(
                session,
                rp=relying_party(idp),
                events=idp.events,
                user=user,
                credential=credential,
                challenge=challenge,
                name=name,
                address=address,
            )
    except PasskeyError as exc:
        with idp.database.transaction() as session:
            idp.events.record(
                session,
                type="passkey.registration_failed",
                actor=sso.user_id,
                subject=sso.user_id,
                details={"reason": exc.reason, "address": address},
            )
        return Refused(exc.reason)
    return None
