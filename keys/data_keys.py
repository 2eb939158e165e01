"""Symmetric data keys (HMAC peppers, field-encryption keys), kept sealed under the KEK.

Each purpose gets one random 256-bit key, stored envelope-encrypted like private keys, so
rotating the key-encryption key only re-wraps it and digests made with it stay valid.
Security contract: the clear key exists only in the memory of the process using it, and a
key is cached only once it is committed (a key created by a transaction that then rolls
back must never be used again).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from keys.custody import KeyCustody
from keys.envelope import open_private_key, seal_private_key
from keys.models import DataKey

_CREATED = "tongxing_data_keys_created"
_LISTENING = "tongxing_data_keys_listening"


class DataKeys:
    """Hands out (creating on first use) the data key of a purpose, cached per process."""

    def __init__(self, *, custody: KeyCustody) -> None:
        self.custody = custody
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def cached(self, purpose: str) -> bytes | None:
        """The key if this process already holds it (committed), else None."""
        with self._lock:
            return self._cache.get(purpose)

    def get(self, session: Session, purpose: str) -> bytes:
        """The 32-byte key for ``purpose``, read (or created) in the caller's transaction:
        a second transaction would wait on the caller's own write lock on SQLite."""
        with self._lock:
            if purpose in self._cache:
                return self._cache[purpose]
        label = f"data-key:{purpose}"
        created: set[str] = session.info.setdefault(_CREATED, set())
        sealed = _sealed(session, purpose)
        if sealed is None:
            try:
                with session.begin_nested():
                    session.add(
                        DataKey(
                            purpose=purpose,
                            sealed=seal_private_key(self.custody.kek, os.urandom(32), key_id=label),
                            created_at=datetime.now(UTC),
                        )
                    )
                created.add(purpose)
                _forget_at_end(session)
            except IntegrityError:
                pass  # another process created it first; use theirs
            sealed = _sealed(session, purpose)
        if sealed is None:
            raise RuntimeError(f"data key {purpose!r} could not be created")
        key = open_private_key(self.custody.kek, sealed, key_id=label)
        if purpose not in created:  # committed already: safe to keep
            with self._lock:
                self._cache[purpose] = key
        return key


def _forget_at_end(session: Session) -> None:
    if session.info.get(_LISTENING):
        return
    session.info[_LISTENING] = True

    @event.listens_for(session, "after_transaction_end")
    def _clear(ended: Session, transaction: Any) -> None:
        if transaction.parent is None:
            ended.info.pop(_CREATED, None)


def _sealed(session: Session, purpose: str) -> bytes | None:
    return session.scalar(select(DataKey.sealed).where(DataKey.purpose == purpose))
