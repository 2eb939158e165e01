"""Rule 1: ``client_id`` names a known, enabled client registered for the code flow."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from idp.errors import UntrustedRedirect
from idp.models import Client


def check(params: Mapping[str, str], *, find_client: Callable[[str], Client | None]) -> Client:
    """The client, or an error shown on our own page."""
    client_id = params.get("client_id")
    if not client_id:
        raise UntrustedRedirect("the request names no client (client_id is missing)")
    client = find_client(client_id)
    if client is None or client.disabled:
        raise UntrustedRedirect("the application is unknown or disabled")
    if "authorization_code" not in client.grant_types:
        raise UntrustedRedirect("the application is not registered for sign-in")
    return client
