"""Rule 5: ``openid`` is requested; scopes the client is not registered for are dropped
(RFC 6749 §3.3 lets the server grant less than asked; the token response says what)."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import InvalidScope
from idp.models import Client


def check(params: Mapping[str, str], *, client: Client) -> tuple[str, ...]:
    """The granted scopes, in the order requested, ``openid`` first."""
    requested = [s for s in params.get("scope", "").split(" ") if s]
    if "openid" not in requested:
        raise InvalidScope("an OpenID Connect request must include the openid scope")
    allowed = set(client.scopes)
    granted = ["openid"] + [s for s in dict.fromkeys(requested) if s != "openid" and s in allowed]
    return tuple(granted)
