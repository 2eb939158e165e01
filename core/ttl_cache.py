"""A small per-process cache whose entries expire after a fixed number of seconds.

For hot read paths (a client's registration, a grant's person) where a change may take
effect a few seconds late on other processes; anything that must be immediate is checked
elsewhere (e.g. grant revocations through the shared store).
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Key -> value for ``seconds``; at most ``max_items`` (then it starts afresh)."""

    def __init__(self, *, seconds: float, max_items: int = 10_000) -> None:
        self.seconds = seconds
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The live value, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if time.monotonic() - found[0] >= self.seconds:
                del self._items[key]
                return None
            return found[1]

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` from now on."""
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()  # simple and bounded; the entries are cheap to reload
            self._items[key] = (time.monotonic(), value)

    def drop(self, key: K) -> None:
        """Forget one key."""
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
