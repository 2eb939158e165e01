"""Rule 6: every client, confidential or public, sends a PKCE S256 challenge (RFC 9700
§2.1.1 recommends it for all; ``plain`` is refused)."""

from __future__ import annotations

from collections.abc import Mapping

from idp.protocol import rfc7636


def check(params: Mapping[str, str]) -> str:
    """The code challenge."""
    return rfc7636.check_challenge(
        challenge=params.get("code_challenge"), method=params.get("code_challenge_method")
    )
