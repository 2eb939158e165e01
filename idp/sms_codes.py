"""One-time codes sent by SMS: issue, send within limits, check once.

Security contract: a code is 6 random digits, valid ``sms_code_ttl_seconds`` (5 minutes),
accepted once (an atomic take in the shared store, so two app processes cannot both accept
it) and only for the phone number, purpose and browser it was issued to; it is stored as a
keyed digest (HMAC-SHA256 under the ``sms-code`` data key), never in clear; a code dies after
:data:`WRONG_TRIES` wrong answers; sending is limited per phone number (one per
``sms_send_interval_seconds``, ``sms_sends_per_phone_day`` a day) and per source address
(``sms_sends_per_address_hour``), and a refusal says how long to wait. Every send, refusal,
use and failure is an audit event with the number masked. This module does *not* decide who
may receive a code (the callers check that the number is the account's verified phone) and
does not hide whether an account exists (the callers answer alike either way).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from dataclasses import dataclass

from idp.runtime import IdentityProvider
from idp.sms import SmsUnavailable, mask_phone

DATA_KEY_PURPOSE = "sms-code"
DIGITS = 6
WRONG_TRIES = 5
PURPOSES = frozenset({"login", "step-up", "register", "reset", "phone"})
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def normalise_phone(text: str) -> str | None:
    """The number without spaces or dashes, or None when it is not a phone number."""
    phone = re.sub(r"[\s\-()]", "", text or "")
    return phone if _PHONE.match(phone) else None


@dataclass(frozen=True)
class Issued:
    """A code was issued (the caller sends it, or not, see :func:`deliver`)."""

    code: str


@dataclass(frozen=True)
class Refused:
    """Too many codes asked: try again after ``retry_after`` seconds."""

    retry_after: int
    scope: str  # "phone" or "address"


def _key(idp: IdentityProvider) -> bytes:
    return idp.data_key(DATA_KEY_PURPOSE)


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _slot(idp: IdentityProvider, key: bytes, *, phone: str, purpose: str, browser: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown SMS code purpose {purpose!r}")
    return idp.store.key("idp", "sms-code", _mac(key, "slot", phone, purpose, browser))


def _wait(idp: IdentityProvider, key: str, default: int) -> int:
    left = idp.store.ttl(key)
    return max(1, math.ceil(left)) if left is not None else default


def issue(
    idp: IdentityProvider, *, phone: str, purpose: str, browser: str, address: str
) -> Issued | Refused:
    """A new code for (phone, purpose, browser), replacing an earlier one, unless a sending
    limit refuses (per source address, then per number: interval and daily count); a
    refusal is an ``sms.code_refused`` audit event."""
    issued = _issue(idp, phone=phone, purpose=purpose, browser=browser, address=address)
    if isinstance(issued, Refused):
        record_refusal(idp, phone=phone, purpose=purpose, refused=issued, address=address)
    return issued


def _issue(
    idp: IdentityProvider, *, phone: str, purpose: str, browser: str, address: str
) -> Issued | Refused:
    settings, store = idp.settings, idp.store
    key = _key(idp)
    per_address = store.key("idp", "sms-address", _mac(key, "address", address))
    if store.incr(per_address, ttl=3600) > settings.sms_sends_per_address_hour:
        return Refused(retry_after=_wait(idp, per_address, 3600), scope="address")
    number = _mac(key, "phone", phone)
    gap = store.key("idp", "sms-gap", number)
    interval = settings.sms_send_interval_seconds
    if not store.set(gap, b"1", ttl=interval, only_if_absent=True):
        return Refused(retry_after=_wait(idp, gap, interval), scope="phone")
    per_day = store.key("idp", "sms-day", number)
    if store.incr(per_day, ttl=86400) > settings.sms_sends_per_phone_day:
        return Refused(retry_after=_wait(idp, per_day, 86400), scope="phone")
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    ttl = settings.sms_code_ttl_seconds
    record = {"digest": _mac(key, "code", code), "tries": 0, "expires": time.time() + ttl}
    slot = _slot(idp, key, phone=phone, purpose=purpose, browser=browser)
    store.set(slot, json.dumps(record).encode(), ttl=ttl)
    return Issued(code=code)


def deliver(
    idp: IdentityProvider,
    *,
    phone: str,
    text: str | None,
    purpose: str,
    user_id: str | None,
    address: str,
) -> bool:
    """Send ``text`` (None: nothing to send — no account behind the number) and record it;
    whether the gateway accepted it. Callers that must not reveal accounts run this after
    their answer is sent, so its duration tells nothing."""
    sent, reason = False, "no-account"
    if text is not None and idp.sms is not None:
        try:
            idp.sms.send(phone, text)
            sent, reason = True, ""
        except SmsUnavailable:
            reason = "gateway-unavailable"
    with idp.database.transaction() as session:
        idp.events.record(
            session,
            type="sms.code_sent" if sent else "sms.code_not_sent",
            actor=user_id or "anonymous",
            subject=user_id or "unknown-account",
            details={
                "phone": mask_phone(phone),
                "purpose": purpose,
                "address": address,
                **({"reason": reason} if reason else {}),
            },
        )
    return sent


def record_refusal(
    idp: IdentityProvider, *, phone: str, purpose: str, refused: Refused, address: str
) -> None:
    """Audit a send the limits refused."""
    with idp.database.transaction() as session:
        idp.events.record(
            session,
            type="sms.code_refused",
            actor="anonymous",
            subject="unknown-account",
            details={
                "phone": mask_phone(phone),
                "purpose": purpose,
                "scope": refused.scope,
                "retry_after": refused.retry_after,
                "address": address,
            },
        )


def check(idp: IdentityProvider, *, phone: str, purpose: str, browser: str, code: str) -> bool:
    """Whether ``code`` is the live code for (phone, purpose, browser); a right code is
    consumed, a wrong one counts towards :data:`WRONG_TRIES` (then the code is gone)."""
    key = _key(idp)
    slot = _slot(idp, key, phone=phone, purpose=purpose, browser=browser)
    presented = _mac(key, "code", code.strip())
    for _ in range(5):  # a concurrent wrong try changed the record: read it again
        raw = idp.store.get(slot)
        if raw is None:
            return False
        record = json.loads(raw)
        if hmac.compare_digest(record["digest"], presented):
            return idp.store.take(slot) == raw  # of two racing right answers, one wins
        record["tries"] += 1
        left = record["expires"] - time.time()
        if record["tries"] >= WRONG_TRIES or left <= 0:
            idp.store.delete(slot)
            return False
        if idp.store.compare_and_set(
            slot, expected=raw, value=json.dumps(record).encode(), ttl=left
        ):
            return False
    return False


def use(
    idp: IdentityProvider,
    *,
    phone: str,
    purpose: str,
    browser: str,
    code: str,
    user_id: str | None,
    address: str,
) -> bool:
    """:func:`check` the code and record the use or failure as an audit event."""
    ok = bool(code) and check(idp, phone=phone, purpose=purpose, browser=browser, code=code)
    with idp.database.transaction() as session:
        idp.events.record(
            session,
            type="sms.code_used" if ok else "sms.code_failed",
            actor=user_id or "anonymous",
            subject=user_id or "unknown-account",
            details={"phone": mask_phone(phone), "purpose": purpose, "address": address},
        )
    return ok
