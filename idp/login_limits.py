"""Brute-force protection for sign-in: per account and per source address, with back-off.

Policy: after ``per_account`` failures for one login name, each further failure locks that
name for twice as long as the last (30 s, 60 s, ... at most 15 minutes); one source address
may fail ``per_address`` times per 15-minute window. A success clears the account's count.
Counters live in the shared store, so every app process enforces the same limits. The
account key is a digest of the normalised login name: unknown names are limited too, and
the store never holds the names people typed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.store import Store

WINDOW = 15 * 60
FIRST_LOCK = 30
MAX_LOCK = 15 * 60


@dataclass(frozen=True)
class Refusal:
    """Sign-in is refused for ``retry_after`` seconds."""

    retry_after: int
    scope: str  # "account" | "address"


class LoginLimits:
    """Counts failures and says when to refuse."""

    def __init__(self, *, store: Store, per_account: int, per_address: int) -> None:
        self.store = store
        self.per_account = per_account
        self.per_address = per_address

    def _account(self, login: str) -> str:
        return hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]

    def check(self, *, login: str, address: str) -> Refusal | None:
        """A refusal if this attempt must not even be tried."""
        lock = self.store.ttl(self.store.key("idp", "login-lock", self._account(login)))
        if lock is not None and lock > 0:
            return Refusal(retry_after=int(lock) + 1, scope="account")
        key = self.store.key("idp", "login-fail-addr", address or "unknown")
        raw = self.store.get(key)
        if raw is not None and int(raw) >= self.per_address:
            return Refusal(retry_after=int(self.store.ttl(key) or WINDOW) + 1, scope="address")
        return None

    def failed(self, *, login: str, address: str) -> Refusal | None:
        """Count a failure; returns the lock it caused, if any."""
        account = self._account(login)
        self.store.incr(self.store.key("idp", "login-fail-addr", address or "unknown"), ttl=WINDOW)
        count = self.store.incr(self.store.key("idp", "login-fail", account), ttl=WINDOW)
        if count < self.per_account:
            return None
        seconds = min(MAX_LOCK, FIRST_LOCK * 2 ** (count - self.per_account))
        self.store.set(self.store.key("idp", "login-lock", account), b"1", ttl=seconds)
        return Refusal(retry_after=seconds, scope="account")

    def succeeded(self, *, login: str) -> None:
        """Forget the account's failures."""
        self.store.delete(self.store.key("idp", "login-fail", self._account(login)))
