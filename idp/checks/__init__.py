"""Authorization-request rules, one module each, run in a fixed order (OIDC Core §3.1.2.2).

The first two (client, redirect URI) raise :class:`idp.errors.UntrustedRedirect`: until
they pass, nothing may be sent to the redirect URI. Every later rule raises an
:class:`idp.errors.OAuthError` that is returned to the (now verified) redirect URI with
``state`` and ``iss`` (RFC 9207). Unknown parameters are ignored, as the spec requires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from idp.checks import client as client_check
from idp.checks import max_age as max_age_check
from idp.checks import pkce as pkce_check
from idp.checks import prompt as prompt_check
from idp.checks import redirect_uri as redirect_check
from idp.checks import request_object as request_object_check
from idp.checks import response_type as response_type_check
from idp.checks import scope as scope_check
from idp.models import Client


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request."""

    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None
    acr_values: tuple[str, ...]
    ui_locales: tuple[str, ...]


@dataclass(frozen=True)
class Verified:
    """The part of a request that is safe to redirect errors to."""

    client: Client
    redirect_uri: str
    state: str | None


def verify_target(
    params: Mapping[str, str], *, find_client: Callable[[str], Client | None]
) -> Verified:
    """Rules 1-2: a known, enabled code-flow client and an exactly registered redirect URI."""
    client = client_check.check(params, find_client=find_client)
    redirect_uri = redirect_check.check(params, client=client)
    return Verified(client=client, redirect_uri=redirect_uri, state=params.get("state"))


def validate(params: Mapping[str, str], *, target: Verified) -> AuthorizationRequest:
    """Rules 3 onwards, for a request whose target is verified."""
    request_object_check.check(params)
    response_type_check.check(params)
    scopes = scope_check.check(params, client=target.client)
    challenge = pkce_check.check(params)
    prompt = prompt_check.check(params)
    max_age = max_age_check.check(params)
    return AuthorizationRequest(
        client=target.client,
        redirect_uri=target.redirect_uri,
        scopes=scopes,
        state=target.state,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        acr_values=tuple(params.get("acr_values", "").split()),
        ui_locales=tuple(params.get("ui_locales", "").split()),
    )
