"""Recovery codes: ten single-use codes a person keeps on paper, to sign in when a factor is
lost.

Security contract: a code is 50 random bits (10 base32 characters, shown as two groups of
five) and is stored only as a keyed digest (HMAC-SHA256 under the ``recovery-codes`` data
key), so a copy of the database alone does not let anyone try codes offline; codes are shown
once, when generated, and generating replaces every earlier code; a code is spent by a
conditional ``UPDATE … WHERE used_at IS NULL``, so of concurrent uses on any app processes
exactly one wins. Codes never appear in logs or audit details.
"""

from __future__ import annotations

import base64
import hmac
import os
import time
from datetime import UTC, datetime
from hashlib import sha256

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp.models import RecoveryCode
from keys.data_keys import DataKeys

DATA_KEY_PURPOSE = "recovery-codes"
COUNT = 10
LENGTH = 10  # base32 characters: 50 bits
GROUP = 5
# What a person may type: base32 letters and digits, spaces and dashes between groups.
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def _fresh() -> str:
    raw = base64.b32encode(os.urandom(8)).decode()[:LENGTH]
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str) -> str | None:
    """The code as stored (upper case, no separators), or None when it cannot be one."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    if len(cleaned) != LENGTH or not set(cleaned) <= _ALPHABET:
        return None
    return cleaned


def _digest(key: bytes, user_id: str, normalised: str) -> str:
    # Bound to the person: the same code for two people has two digests.
    return hmac.new(key, f"{user_id}:{normalised}".encode(), sha256).hexdigest()


def generate(
    session: Session,
    *,
    data_keys: DataKeys,
    events: EventRecorder,
    user_id: str,
    actor: str,
    now: float | None = None,
) -> list[str]:
    """Replace the person's recovery codes with :data:`COUNT` new ones (returned, to show
    once) and record ``recovery_codes.generated``."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    key = data_keys.get(session, DATA_KEY_PURPOSE)
    replaced = session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    codes: list[str] = []
    while len(codes) < COUNT:
        code = _fresh()
        if code not in codes:
            codes.append(code)
    for code in codes:
        session.add(
            RecoveryCode(
                digest=_digest(key, user_id, normalise(code) or ""),
                user_id=user_id,
                created_at=moment,
            )
        )
    events.record(
        session,
        type="recovery_codes.generated",
        actor=actor,
        subject=user_id,
        details={"count": COUNT, "replaced": int(getattr(replaced, "rowcount", 0) or 0)},
    )
    return codes


def use(
    session: Session, *, data_keys: DataKeys, user_id: str, code: str, now: float | None = None
) -> bool:
    """Spend one of the person's unused codes (in this transaction); False when ``code`` is
    not one of them or was used already (here or on another process)."""
    normalised = normalise(code)
    if normalised is None:
        return False
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    digest = _digest(data_keys.get(session, DATA_KEY_PURPOSE), user_id, normalised)
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.digest == digest,
            RecoveryCode.user_id == user_id,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    )
    return getattr(spent, "rowcount", 0) == 1


def remaining(session: Session, user_id: str) -> int:
    """How many of the person's codes are unused."""
    count = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def issued(session: Session, user_id: str) -> bool:
    """Whether the person was ever given codes (used or not) that are still on record."""
    found = session.scalar(
        select(RecoveryCode.digest).where(RecoveryCode.user_id == user_id).limit(1)
    )
    return found is not None


def remove_all(session: Session, user_id: str) -> int:
    """Delete the person's codes (an administrator's reset); how many were deleted."""
    removed = session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(removed, "rowcount", 0) or 0)
