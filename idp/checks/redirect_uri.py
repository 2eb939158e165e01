"""Rule 2: ``redirect_uri`` is present and equal, character for character, to a registered
one (OIDC Core §3.1.2.1; no prefix, case or normalisation tricks)."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import UntrustedRedirect
from idp.models import Client


def check(params: Mapping[str, str], *, client: Client) -> str:
    """The redirect URI, or an error shown on our own page (never a redirect)."""
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise UntrustedRedirect("the request has no redirect_uri")
    if redirect_uri not in client.redirect_uris:
        raise UntrustedRedirect("the redirect_uri is not registered for this application")
    return redirect_uri
