"""Brute-force protection for sign-in: per account, per device cookie and per source address.

Policy (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): failures are counted
against the *source* of the attempt. An attempt from a browser presenting a valid device
cookie for the account (see :mod:`idp.device_cookies`) counts against that device only;
every other attempt counts against the account's single "untrusted sources" counter. A
source may fail ``per_account`` (untrusted) or ``per_device`` (one device) times per 15-minute
window; then it is locked for 30 s, and after that each further attempt is allowed only
alone and, if it fails, locks the source for twice as long as the last time (at most 15
minutes). A locked device is on the lockout list (a key in the store) for the lock's
duration. One source address may have ``per_address`` attempts in flight or failed per
15-minute window, whatever the device.

Security contract: a stranger guessing passwords locks out strangers (every browser
without a device cookie for the account), never a browser the person signed in with
before, so guessing cannot deny the person service; a device cookie cannot be forged or
moved to another account, so it gives an attacker no extra attempts; a device that fails too
often is locked itself. Attempts are counted *before* the password is checked (an atomic
increment reserves the try), so parallel guesses cannot slip past a limit while hashes are
being verified. The account is the person's id when the login names an account (username,
email and phone share one counter, however the phone number is spelt), otherwise the
normalised login; the store holds digests, never the names people typed nor the cookie.
Counters live in the shared store, so every app process enforces the same limits. What is
*not* covered: an attacker who steals the person's device cookie gets that device's budget.
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
    scope: str  # "account" (untrusted sources) | "device" | "address"


@dataclass(frozen=True)
class _Source:
    """The counter and lock of one source of attempts against one account."""

    count_key: str
    lock_key: str
    limit: int
    scope: str


class LoginLimits:
    """Reserves attempts, counts failures and says when to refuse."""

    def __init__(
        self, *, store: Store, per_account: int, per_address: int, per_device: int
    ) -> None:
        self.store = store
        self.per_account = per_account
        self.per_address = per_address
        self.per_device = per_device

    def _source(self, account: str, device: str | None) -> _Source:
        if device is None:
            digest = hashlib.sha256(account.encode()).hexdigest()[:32]
            return _Source(
                count_key=self.store.key("idp", "login-fail", digest),
                lock_key=self.store.key("idp", "login-lock", digest),
                limit=self.per_account,
                scope="account",
            )
        digest = hashlib.sha256(f"{account}\x00{device}".encode()).hexdigest()[:32]
        return _Source(
            count_key=self.store.key("idp", "device-fail", digest),
            lock_key=self.store.key("idp", "device-lock", digest),
            limit=self.per_device,
            scope="device",
        )

    def _address_key(self, address: str) -> str:
        return self.store.key("idp", "login-addr", address or "unknown")

    def begin(self, *, account: str, address: str, device: str | None = None) -> Refusal | None:
        """Reserve one attempt from ``device`` (a recognised device id, or None for an
        untrusted source), or say why not (nothing is reserved then)."""
        source = self._source(account, device)
        locked = self.store.ttl(source.lock_key)
        if locked is not None and locked > 0:
            return Refusal(retry_after=int(locked) + 1, scope=source.scope)
        address_key = self._address_key(address)
        if self.store.incr(address_key, ttl=WINDOW) > self.per_address:
            self.store.incr(address_key, ttl=WINDOW, amount=-1)
            return Refusal(
                retry_after=int(self.store.ttl(address_key) or WINDOW) + 1, scope="address"
            )
        count = self.store.incr(source.count_key, ttl=WINDOW)
        if count <= source.limit:
            return None
        # Past the limit: one attempt at a time, each holding the lock for the back-off.
        seconds = min(MAX_LOCK, FIRST_LOCK * 2 ** (count - source.limit))
        if self.store.set(source.lock_key, b"1", ttl=seconds, only_if_absent=True):
            return None
        self.store.incr(address_key, ttl=WINDOW, amount=-1)
        return Refusal(
            retry_after=int(self.store.ttl(source.lock_key) or seconds) + 1, scope=source.scope
        )

    def failed(self, *, account: str, device: str | None = None) -> Refusal | None:
        """The reserved attempt failed; returns the lock now in force on its source, if any."""
        source = self._source(account, device)
        count = int(self.store.get(source.count_key) or 0)
        if count == source.limit:
            self.store.set(source.lock_key, b"1", ttl=FIRST_LOCK, only_if_absent=True)
        locked = self.store.ttl(source.lock_key)
        if locked is not None and locked > 0:
            return Refusal(retry_after=int(locked) + 1, scope=source.scope)
        return None

    def succeeded(self, *, account: str, address: str, device: str | None = None) -> None:
        """The reserved attempt succeeded: forget its source's failures (a device's success
        leaves the untrusted sources' counter alone), give the address its attempt back."""
        source = self._source(account, device)
        self.store.delete(source.count_key)
        self.store.delete(source.lock_key)
        self.store.incr(self._address_key(address), ttl=WINDOW, amount=-1)
