"""Our resource servers and the scopes each accepts; every access token names one of them
as its audience (RFC 8707 resource indicators, RFC 9068 ``aud``)."""

from __future__ import annotations

from idp.errors import InvalidScope, InvalidTarget
from idp.role_scopes import ADMIN_RESOURCE, ADMIN_SCOPES

# Resource path under the issuer -> the scopes it understands.
RESOURCES: dict[str, frozenset[str]] = {
    "/seal": frozenset({"seal:sign"}),
    "/audit": frozenset({"audit:read"}),
    ADMIN_RESOURCE: ADMIN_SCOPES,
}


def audience_for(*, issuer: str, scopes: frozenset[str], resource: str | None) -> str:
    """The audience of a token for ``scopes``: the requested ``resource`` (which must be
    ours and accept them), or the one resource that accepts them all."""
    if resource is not None:
        path = resource.removeprefix(issuer) if resource.startswith(issuer + "/") else None
        if path not in RESOURCES:
            raise InvalidTarget("the requested resource is not served here")
        if not scopes <= RESOURCES[path]:
            raise InvalidScope("the requested scopes are not for that resource")
        return resource
    matching = [path for path, accepted in RESOURCES.items() if scopes <= accepted]
    if len(matching) != 1:
        raise InvalidScope("request scopes of one resource per token")
    return issuer + matching[0]
