"""Device cookies: a browser that signed in to an account before is recognised by it.

OWASP "Slow Down Online Guessing Attacks with Device Cookies". After a successful sign-in
the browser receives an entry ``nonce.mac`` where ``nonce`` is 128 random bits and ``mac`` is
HMAC-SHA-256(key, account || nonce) under the installation's ``device-cookie`` data key
(derived from the key hierarchy, like the CSRF key), so any app process can check it without
shared state. One cookie holds the entries of the last few accounts signed in from that
browser (a shared family computer); the account is not written in the cookie, only bound
into the MAC.

Security contract: :func:`recognise` returns a device id only for an entry that this
installation issued *for this account*: a forged entry, another account's entry or another
installation's entry is worth nothing. The cookie proves only that the browser once signed
in to the account; it is not a credential and never skips the password. It does not expire
server-side (the browser keeps it for a year); a stolen cookie gives a thief only that
device's own small attempt budget (see :mod:`idp.login_limits`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

COOKIE = "tx_device"
DATA_KEY_PURPOSE = "device-cookie"
LIFETIME = 365 * 86400
MAX_ENTRIES = 5
_ENTRY = re.compile(r"^[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{22}$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: bytes, account: str, nonce: str) -> str:
    digest = hmac.new(key, f"device\x00{account}\x00{nonce}".encode(), hashlib.sha256).digest()
    return _b64(digest[:16])


def _entries(presented: str | None) -> list[str]:
    if not presented or len(presented) > 64 * MAX_ENTRIES:
        return []
    return [entry for entry in presented.split("~") if _ENTRY.match(entry)][:MAX_ENTRIES]


def recognise(*, key: bytes, account: str, presented: str | None) -> str | None:
    """The device id (the nonce) of the presented cookie's entry for ``account``, or None
    when the cookie holds no valid entry for it (constant-time MAC comparison)."""
    for entry in _entries(presented):
        nonce, mac = entry.split(".")
        if hmac.compare_digest(_mac(key, account, nonce), mac):
            return nonce
    return None


def issue(*, key: bytes, account: str, presented: str | None) -> str:
    """The cookie value after a successful sign-in to ``account``: a fresh entry for it first,
    then the presented cookie's entries for other accounts (the oldest dropped)."""
    nonce = _b64(secrets.token_bytes(16))
    mine = recognise(key=key, account=account, presented=presented)
    others = [e for e in _entries(presented) if mine is None or not e.startswith(mine + ".")]
    return "~".join([f"{nonce}.{_mac(key, account, nonce)}", *others][:MAX_ENTRIES])
