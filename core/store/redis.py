"""Redis implementation of the store; atomic operations are single commands or Lua scripts.

An outage surfaces as :class:`StoreUnavailable` (the app answers 503 with ``Retry-After``),
logged once when it starts and once when it ends, never as a traceback per request. The
client reconnects by itself, so service resumes with the first command that gets through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.exceptions import RedisError

from core.store import Store, StoreUnavailable

log = logging.getLogger("tongxing.store")
T = TypeVar("T")

# A counter gets its expiry when it is created, so the window is fixed and never extended.
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# ARGV: 1 = '1' if a value is expected, 2 = expected value, 3 = new value, 4 = ttl in ms.
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


def describe_redis_url(url: str) -> str:
    """The URL with any password masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


class RedisStore(Store):
    """The store on a Redis server shared by every app process."""

    def __init__(self, url: str, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self._redis: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
        )
        self._incr: Any = self._redis.register_script(_INCR)
        self._cas: Any = self._redis.register_script(_COMPARE_AND_SET)
        self.url = url
        self._outage_lock = threading.Lock()
        self._down = False

    def _run(self, command: Callable[[], T]) -> T:
        """Run one Redis command; a failure becomes :class:`StoreUnavailable`, and outages
        (not requests) are logged: once when the first command fails, once when one works."""
        try:
            result = command()
        except RedisError as exc:
            reason = f"cannot reach Redis at {describe_redis_url(self.url)}: {exc}"
            with self._outage_lock:
                started, self._down = not self._down, True
            if started:
                log.error("store unavailable", extra={"reason": reason})
            raise StoreUnavailable(reason) from None
        if self._down:
            with self._outage_lock:
                ended, self._down = self._down, False
            if ended:
                log.warning("store available again")
        return result

    def get(self, key: str) -> bytes | None:
        self._check(key)
        value = self._run(lambda: self._redis.get(key))
        return bytes(value) if value is not None else None  # type: ignore[arg-type]

    def set(self, key: str, value: bytes, *, ttl: float, only_if_absent: bool = False) -> bool:
        self._check(key, ttl)
        return bool(self._run(lambda: self._redis.set(key, value, px=_ms(ttl), nx=only_if_absent)))

    def take(self, key: str) -> bytes | None:
        self._check(key)
        value = self._run(lambda: self._redis.getdel(key))
        return bytes(value) if value is not None else None  # type: ignore[arg-type]

    def delete(self, key: str) -> bool:
        self._check(key)
        return bool(self._run(lambda: self._redis.delete(key)))

    def incr(self, key: str, *, ttl: float, amount: int = 1) -> int:
        self._check(key, ttl)
        return int(self._run(lambda: self._incr(keys=[key], args=[amount, _ms(ttl)])))

    def compare_and_set(
        self, key: str, *, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        self._check(key, ttl)
        args = ["1" if expected is not None else "0", expected or b"", value, _ms(ttl)]
        return bool(self._run(lambda: self._cas(keys=[key], args=args)))

    def ttl(self, key: str) -> float | None:
        self._check(key)
        remaining = int(self._run(lambda: self._redis.pttl(key)))
        return None if remaining < 0 else remaining / 1000

    def ping(self) -> None:
        self._run(self._redis.ping)

    def close(self) -> None:
        self._redis.close()
