"""CSRF protection for server-rendered forms: tokens bound to a browser cookie and a purpose.

Security contract: every browser gets a random ``tx_browser`` cookie (HttpOnly, SameSite=Lax);
a form's token is HMAC-SHA-256(key, browser id || purpose), so a token from one browser or
one form is useless in another, and any app process can check it without shared state.
A cross-site attacker can neither read the cookie nor compute the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

BROWSER_COOKIE = "tx_browser"
DATA_KEY_PURPOSE = "csrf"


def new_browser_id() -> str:
    """A fresh random browser id for the cookie."""
    return secrets.token_urlsafe(24)


def token(*, key: bytes, browser_id: str, purpose: str) -> str:
    """The form token for ``purpose`` in this browser."""
    mac = hmac.new(key, f"{browser_id}\x00{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def valid(*, key: bytes, browser_id: str | None, purpose: str, presented: str | None) -> bool:
    """Whether ``presented`` is this browser's token for ``purpose`` (constant time)."""
    if not browser_id or not presented:
        return False
    return hmac.compare_digest(token(key=key, browser_id=browser_id, purpose=purpose), presented)
