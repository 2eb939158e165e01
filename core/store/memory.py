"""In-process implementation of the store, for the embedded single-process default and tests."""

from __future__ import annotations

import threading
import time

from core.store import Store

_SWEEP_EVERY = 1024


class MemoryStore(Store):
    """A dict with expiry under one lock; atomic within this process only."""

    blocks_on_network = False

    def __init__(self, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self._items: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _live(self, key: str, now: float) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._items[key]
            return None
        return item[0]

    def _put(self, key: str, value: bytes, expires: float, now: float) -> None:
        self._items[key] = (value, expires)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            # Expired entries nobody reads again would otherwise accumulate.
            for stale in [k for k, (_, exp) in self._items.items() if exp <= now]:
                del self._items[stale]

    def get(self, key: str) -> bytes | None:
        self._check(key)
        with self._lock:
            return self._live(key, time.monotonic())

    def set(self, key: str, value: bytes, *, ttl: float, only_if_absent: bool = False) -> bool:
        self._check(key, ttl)
        with self._lock:
            now = time.monotonic()
            if only_if_absent and self._live(key, now) is not None:
                return False
            self._put(key, bytes(value), now + ttl, now)
            return True

    def take(self, key: str) -> bytes | None:
        self._check(key)
        with self._lock:
            value = self._live(key, time.monotonic())
            self._items.pop(key, None)
            return value

    def delete(self, key: str) -> bool:
        self._check(key)
        with self._lock:
            existed = self._live(key, time.monotonic()) is not None
            self._items.pop(key, None)
            return existed

    def incr(self, key: str, *, ttl: float, amount: int = 1) -> int:
        self._check(key, ttl)
        with self._lock:
            now = time.monotonic()
            current = self._live(key, now)
            if current is None:
                count, expires = amount, now + ttl
            else:
                count, expires = int(current) + amount, self._items[key][1]
            self._put(key, str(count).encode(), expires, now)
            return count

    def compare_and_set(
        self, key: str, *, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        self._check(key, ttl)
        with self._lock:
            now = time.monotonic()
            if self._live(key, now) != expected:
                return False
            self._put(key, bytes(value), now + ttl, now)
            return True

    def ttl(self, key: str) -> float | None:
        self._check(key)
        with self._lock:
            now = time.monotonic()
            if self._live(key, now) is None:
                return None
            return self._items[key][1] - now

    def ping(self) -> None:
        return None

    def close(self) -> None:
        with self._lock:
            self._items.clear()
