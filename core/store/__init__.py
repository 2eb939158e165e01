"""The short-lived shared store: one small interface, a Redis and an in-process implementation.

Contract for every implementation: keys are namespaced ``<prefix>:<domain>:<purpose>:<id>``;
every value has a TTL; ``set(only_if_absent=True)``, ``take``, ``incr`` and
``compare_and_set`` are atomic across every process sharing the store (the in-process store
only shares within one process, which is why more than one worker requires Redis).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from core.readiness import NotReady

_PART = re.compile(r"^[A-Za-z0-9_.\-]+$")


class StoreUnavailable(NotReady):
    """The store cannot be reached; the message is one line and names no secret."""


class Store(ABC):
    """Short-lived key/value state shared by the app processes."""

    # Whether calls wait on the network (so async code must not make them on the event loop).
    blocks_on_network = True

    def __init__(self, *, prefix: str) -> None:
        self.prefix = prefix

    def key(self, domain: str, purpose: str, ident: str) -> str:
        """The namespaced key ``<prefix>:<domain>:<purpose>:<ident>``."""
        for part in (domain, purpose):
            if not _PART.match(part):
                raise ValueError(f"store key part {part!r} must match {_PART.pattern}")
        if not ident:
            raise ValueError("store key id must be non-empty")
        return f"{self.prefix}:{domain}:{purpose}:{ident}"

    def _check(self, key: str, ttl: float | None = None) -> None:
        if not key.startswith(self.prefix + ":") or key.count(":") < 3:
            raise ValueError(f"store key {key!r} is not namespaced; build it with Store.key()")
        if ttl is not None and ttl <= 0:
            raise ValueError("store TTL must be positive")

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

    @abstractmethod
    def set(self, key: str, value: bytes, *, ttl: float, only_if_absent: bool = False) -> bool:
        """Store ``value`` for ``ttl`` seconds; with ``only_if_absent``, only if no live value
        exists (atomic). Returns whether it was stored."""

    @abstractmethod
    def take(self, key: str) -> bytes | None:
        """Atomically read and delete: of concurrent takers, exactly one gets the value."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the key; returns whether it existed."""

    @abstractmethod
    def incr(self, key: str, *, ttl: float, amount: int = 1) -> int:
        """Atomically add ``amount``; a new counter expires ``ttl`` seconds after its creation
        (a fixed window), so counters never live forever."""

    @abstractmethod
    def compare_and_set(
        self, key: str, *, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        """Atomically replace the value if it equals ``expected`` (None: only if absent)."""

    @abstractmethod
    def ttl(self, key: str) -> float | None:
        """Seconds until the key expires, or None when absent."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` if the store cannot serve requests."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def create_store(*, redis_url: str, prefix: str) -> Store:
    """Redis when a URL is configured, otherwise the in-process store."""
    if redis_url:
        from core.store.redis import RedisStore

        return RedisStore(redis_url, prefix=prefix)
    from core.store.memory import MemoryStore

    return MemoryStore(prefix=prefix)
