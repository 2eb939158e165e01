"""The IdP's token-signing keys: next -> active -> retired, and their JWKS (RFC 7517).

Rotation publishes a key before it signs anything: ``init`` creates an active key and a
*next* one; ``rotate`` promotes next to active, retires the old active key (still published
for ``TONGXING_TOKEN_KEY_RETENTION_HOURS`` so tokens it signed keep verifying) and creates a
new next key. Relying parties that cache JWKS therefore always know the signing key already.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.events import EventRecorder
from keys import repository
from keys.algorithms import KeyAlgorithm
from keys.custody import KeyCustody
from keys.models import ManagedKey
from keys.stores import SigningKey
from keys.stores.software import SoftwareSigningKey

PURPOSE = "token-signing"
RS256_PURPOSE = "token-signing-rs256"
# How long JWKS responses may be cached (keys.api.jwks): a next key must be public that long.
PUBLISH_AHEAD = timedelta(seconds=300)
ACTIVE_KEY_CACHE_SECONDS = 5.0
ACTIVE_KEY_NAME = "active-token-key"


def ensure_token_keys(
    session: Session,
    *,
    custody: KeyCustody,
    events: EventRecorder,
    algorithm: KeyAlgorithm,
    actor: str,
) -> list[str]:
    """Create the active and next keys if missing; returns what was created."""
    created: list[str] = []
    repository.lock_key_purpose(session, PURPOSE)
    for state in ("active", "next"):
        if not repository.keys_in_state(session, purpose=PURPOSE, states=(state,)):
            key = custody.generate(session, purpose=PURPOSE, algorithm=algorithm, state=state)
            events.record(
                session,
                type="key.generated",
                actor=actor,
                subject=key.key_id,
                details={"purpose": PURPOSE, "state": state, "algorithm": algorithm.value},
            )
            created.append(f"token-signing key ({state})")
    return created


class RotationError(ValueError):
    """A rotation was refused; the message says why."""


def rotate(
    session: Session,
    *,
    custody: KeyCustody,
    events: EventRecorder,
    algorithm: KeyAlgorithm,
    actor: str,
    force: bool = False,
    purpose: str = PURPOSE,
) -> tuple[str, str]:
    """Promote next to active, retire the active key, make a new next; returns (active, next).

    Refused when the next key was published less than ``PUBLISH_AHEAD`` ago (relying
    parties may not have it in their JWKS cache yet) unless ``force``. Serialised across
    processes by :func:`repository.lock_key_purpose`.
    """
    repository.lock_key_purpose(session, purpose)
    now = datetime.now(UTC)
    current = repository.keys_in_state(session, purpose=purpose, states=("active", "next"))
    upcoming = [row for row in current if row.state == "next"]
    if not upcoming:
        raise RotationError("there is no published next key: run `tongxing keys init` first")
    promoted = upcoming[0]
    age = now - as_utc(promoted.created_at)
    if age < PUBLISH_AHEAD and not force:
        wait = int((PUBLISH_AHEAD - age).total_seconds()) + 1
        raise RotationError(
            f"the next key was published {int(age.total_seconds())} s ago; relying parties "
            f"cache JWKS for {int(PUBLISH_AHEAD.total_seconds())} s (retry in {wait} s or force)"
        )
    retired = [row for row in current if row.state == "active"]
    for row in retired:
        row.state, row.retired_at = "retired", now
    promoted.state, promoted.activated_at = "active", now
    new_next = custody.generate(session, purpose=purpose, algorithm=algorithm, state="next")
    custody.forget_remembered()  # this process signs with the new active key at once
    events.record(
        session,
        type="key.rotated",
        actor=actor,
        subject=promoted.id,
        details={
            "purpose": purpose,
            "next": new_next.key_id,
            "retired": [row.id for row in retired],
        },
    )
    return promoted.id, new_next.key_id


def active_signing_key(
    session: Session, custody: KeyCustody, *, purpose: str = PURPOSE
) -> SigningKey:
    """The key that signs tokens now, remembered for a few seconds: after a rotation a
    process may sign with the previous key that long, which every verifier still accepts
    (it stays published as retired), and issuing a token then costs no key queries."""

    def load() -> SigningKey:
        rows = repository.keys_in_state(session, purpose=purpose, states=("active",))
        if not rows:
            raise LookupError(f"no active {purpose} key: run `tongxing keys init`")
        return custody.signing_key(session, rows[-1].id)

    return custody.remembered(
        f"{ACTIVE_KEY_NAME}:{purpose}", seconds=ACTIVE_KEY_CACHE_SECONDS, load=load
    )


def remembered_signing_key(custody: KeyCustody) -> SigningKey | None:
    """The active key if this process remembers it (no database access), else None."""
    return custody.peek_remembered(f"{ACTIVE_KEY_NAME}:{PURPOSE}", seconds=ACTIVE_KEY_CACHE_SECONDS)


def remembered_quick_signing_key(custody: KeyCustody) -> SigningKey | None:
    """The remembered active key when signing with it is quick work in this process's memory
    (a software EC key: tens of microseconds), so a caller may sign on the event loop; None
    when it is not remembered, lives in an HSM (a signature waits on the token) or is RSA
    (milliseconds per signature)."""
    key = remembered_signing_key(custody)
    if isinstance(key, SoftwareSigningKey) and key.algorithm is KeyAlgorithm.ES256:
        return key
    return None


def rs256_signing_key(
    session: Session, *, custody: KeyCustody, events: EventRecorder, actor: str
) -> SigningKey:
    """The active RS256 key for ID tokens of clients that ask for RS256 (OpenID Discovery
    §3 makes RS256 mandatory to offer) when the primary algorithm is ES256. Its keys are
    created on first use (active and next), so installations that never need them never
    pay for RSA key generation; rotation works as for the primary keys."""
    if custody.settings.key_algorithm == KeyAlgorithm.RS256.value:
        return active_signing_key(session, custody)
    remembered = custody.peek_remembered(
        f"{ACTIVE_KEY_NAME}:{RS256_PURPOSE}", seconds=ACTIVE_KEY_CACHE_SECONDS
    )
    if remembered is not None:
        return remembered
    if not repository.keys_in_state(session, purpose=RS256_PURPOSE, states=("active",)):
        repository.lock_key_purpose(session, RS256_PURPOSE)
        created = False
        for state in ("active", "next"):
            if not repository.keys_in_state(session, purpose=RS256_PURPOSE, states=(state,)):
                key = custody.generate(
                    session, purpose=RS256_PURPOSE, algorithm=KeyAlgorithm.RS256, state=state
                )
                events.record(
                    session,
                    type="key.generated",
                    actor=actor,
                    subject=key.key_id,
                    details={"purpose": RS256_PURPOSE, "state": state, "algorithm": "RS256"},
                )
                created = True
        if created:  # not remembered until committed: this transaction may still roll back
            rows = repository.keys_in_state(session, purpose=RS256_PURPOSE, states=("active",))
            return custody.signing_key(session, rows[-1].id)
    return active_signing_key(session, custody, purpose=RS256_PURPOSE)


def published(session: Session, *, retention: timedelta) -> list[ManagedKey]:
    """Keys relying parties must know: next, active, and recently retired ones."""
    cutoff = datetime.now(UTC) - retention
    return [
        row
        for purpose in (PURPOSE, RS256_PURPOSE)
        for row in repository.keys(session, purpose=purpose)
        if row.state in ("next", "active")
        or (row.state == "retired" and row.retired_at and as_utc(row.retired_at) > cutoff)
    ]


def _b64(number: int, length: int | None = None) -> str:
    raw = number.to_bytes(length or (number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk(*, key_id: str, algorithm: KeyAlgorithm, public_key_der: bytes) -> dict[str, Any]:
    """The public JWK of a key (RFC 7517 §4, RFC 7518 §6)."""
    public = serialization.load_der_public_key(public_key_der)
    entry: dict[str, Any] = {"kid": key_id, "use": "sig", "alg": algorithm.value}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        entry.update(kty="EC", crv="P-256", x=_b64(numbers.x, 32), y=_b64(numbers.y, 32))
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        numbers_rsa = public.public_numbers()
        entry.update(kty="RSA", n=_b64(numbers_rsa.n), e=_b64(numbers_rsa.e))
    return entry


def jwks(rows: list[ManagedKey]) -> dict[str, Any]:
    """The JWK Set of ``rows``, the active key first."""
    order = {"active": 0, "next": 1, "retired": 2}
    ordered = sorted(rows, key=lambda row: (order[row.state], row.created_at))
    return {
        "keys": [
            jwk(key_id=row.id, algorithm=KeyAlgorithm(row.algorithm), public_key_der=row.public_key)
            for row in ordered
        ]
    }
