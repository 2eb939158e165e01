"""Brute-force protection for sign-in: per account and per source address, with back-off.

Policy: an account may fail ``per_account`` times per 15-minute window; then it is locked
for 30 s, and after that each further attempt is allowed only alone and, if it fails,
locks the account for twice as long as the last time (at most 15 minutes). One source
address may have ``per_address`` attempts in flight or failed per 15-minute window.

Attempts are counted *before* the password is checked (an atomic increment reserves the
try), so parallel guesses cannot slip past the limit while hashes are being verified. The
account is the person's id when the login names an account (username, email and phone
share one counter, however the phone number is spelt), otherwise the normalised login; the
store holds digests, never the names people typed. Counters live in the shared store, so
every app process enforces the same limits.
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
    """Reserves attempts, counts failures and says when to refuse."""

    def __init__(self, *, store: Store, per_account: int, per_address: int) -> None:
        self.store = store
        self.per_account = per_account
        self.per_address = per_address

    def _keys(self, account: str) -> tuple[str, str]:
        digest = hashlib.sha256(account.encode()).hexdigest()[:32]
        return (
            self.store.key("idp", "login-fail", digest),
            self.store.key("idp", "login-lock", digest),
        )

    def _address_key(self, address: str) -> str:
        return self.store.key("idp", "login-addr", address or "unknown")

    def begin(self, *, account: str, address: str) -> Refusal | None:
        """Reserve one attempt, or say why not (nothing is reserved then)."""
        count_key, lock_key = self._keys(account)
        locked = self.store.ttl(lock_key)
        if locked is not None and locked > 0:
            return Refusal(retry_after=int(locked) + 1, scope="account")
        address_key = self._address_key(address)
        if self.store.incr(address_key, ttl=WINDOW) > self.per_address:
            self.store.incr(address_key, ttl=WINDOW, amount=-1)
            return Refusal(
                retry_after=int(self.store.ttl(address_key) or WINDOW) + 1, scope="address"
            )
        count = self.store.incr(count_key, ttl=WINDOW)
        if count <= self.per_account:
            return None
        # Past the limit: one attempt at a time, each holding the lock for the back-off.
        seconds = min(MAX_LOCK, FIRST_LOCK * 2 ** (count - self.per_account))
        if self.store.set(lock_key, b"1", ttl=seconds, only_if_absent=True):
            return None
        self.store.incr(address_key, ttl=WINDOW, amount=-1)
        return Refusal(retry_after=int(self.store.ttl(lock_key) or seconds) + 1, scope="account")

    def failed(self, *, account: str) -> Refusal | None:
        """The reserved attempt failed; returns the lock now in force, if any."""
        count_key, lock_key = self._keys(account)
        count = int(self.store.get(count_key) or 0)
        if count == self.per_account:
            self.store.set(lock_key, b"1", ttl=FIRST_LOCK, only_if_absent=True)
        locked = self.store.ttl(lock_key)
        if locked is not None and locked > 0:
            return Refusal(retry_after=int(locked) + 1, scope="account")
        return None

    def succeeded(self, *, account: str, address: str) -> None:
        """The reserved attempt succeeded: forget the account's failures, give the address
        its attempt back."""
        count_key, lock_key = self._keys(account)
        self.store.delete(count_key)
        self.store.delete(lock_key)
        self.store.incr(self._address_key(address), ttl=WINDOW, amount=-1)
