"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step
of clock drift either way) as a second factor.

Security contract: the shared secret is sealed under the ``totp`` data key (AES-GCM, bound
to the authenticator's id), never stored or logged in clear; a code is accepted once — the
last accepted time step is stored and raised with a conditional update, so the same code
(or an older one) replayed on any app process is refused; codes compare in constant time.
"""

from __future__ import annotations

import base64
import hmac
import os
import struct
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from idp.models import Authenticator
from keys.data_keys import DataKeys

DATA_KEY_PURPOSE = "totp"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
SECRET_BYTES = 20


def new_secret() -> bytes:
    """A fresh 160-bit shared secret (RFC 4226 §4 recommends 160 bits)."""
    return os.urandom(SECRET_BYTES)


def code_at(secret: bytes, step: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The code for time step ``step`` (RFC 4226 §5.3 dynamic truncation)."""
    mac = hmac.new(secret, struct.pack(">Q", step), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(now: float) -> int:
    """The time step ``now`` falls in."""
    return int(now) // STEP_SECONDS


def matching_step(secret: bytes, code: str, *, now: float, after: int | None) -> int | None:
    """The time step within the drift window whose code is ``code`` and that is later than
    ``after`` (the last step accepted), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_of(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Check every step (no early exit) so the time taken says nothing about which matched.
        if hmac.compare_digest(code_at(secret, step), code) and (after is None or step > after):
            found = step if found is None else found
    return found


def otpauth_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/`` URI an authenticator app scans (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": base64.b32encode(secret).decode().rstrip("="),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def _seal(key: bytes, authenticator_id: str, secret: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, secret, authenticator_id.encode())


def _unseal(key: bytes, authenticator: Authenticator) -> bytes:
    sealed = authenticator.secret_sealed or b""
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], authenticator.id.encode())


def add(
    session: Session,
    *,
    data_keys: DataKeys,
    user_id: str,
    secret: bytes,
    name: str,
    now: float | None = None,
    confirmed_step: int | None = None,
) -> Authenticator:
    """Store a TOTP authenticator for the person (the caller confirmed the person's app
    shows the right codes, and passes the step it confirmed so that code is spent)."""
    moment = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    authenticator = Authenticator(
        id=uuid.uuid4().hex,
        user_id=user_id,
        kind="totp",
        name=name.strip()[:64] or "TOTP",
        created_at=moment,
        last_step=confirmed_step,
        sign_count=0,
        transports=[],
        backup_eligible=False,
        backup_state=False,
    )
    authenticator.secret_sealed = _seal(
        data_keys.get(session, DATA_KEY_PURPOSE), authenticator.id, secret
    )
    session.add(authenticator)
    return authenticator


def verify(
    session: Session, *, data_keys: DataKeys, user_id: str, code: str, now: float | None = None
) -> Authenticator | None:
    """The person's TOTP authenticator that accepts ``code`` now (and is marked as having
    used its step, in this transaction), or None. A code already used, on any of the
    person's authenticators, is refused."""
    moment = time.time() if now is None else now
    key = data_keys.get(session, DATA_KEY_PURPOSE)
    candidates = session.scalars(
        select(Authenticator).where(Authenticator.user_id == user_id, Authenticator.kind == "totp")
    ).all()
    for authenticator in candidates:
        step = matching_step(
            _unseal(key, authenticator), code, now=moment, after=authenticator.last_step
        )
        if step is None:
            continue
        # Raise last_step only if nobody else did meanwhile: one winner per code.
        claimed = session.execute(
            update(Authenticator)
            .where(
                Authenticator.id == authenticator.id,
                or_(Authenticator.last_step.is_(None), Authenticator.last_step < step),
            )
            .values(last_step=step, last_used_at=datetime.fromtimestamp(moment, UTC))
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return authenticator
    return None
