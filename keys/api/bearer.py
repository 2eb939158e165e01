"""Bearer-token protection for our resource servers (RFC 6750), backed by
:class:`keys.access_tokens.AccessTokenVerifier`.

A missing or bad token gets 401 with ``WWW-Authenticate: Bearer error="invalid_token"``; a
valid token without the scope gets 403 with ``error="insufficient_scope"`` (RFC 6750 §3.1);
the body is a problem document either way.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from core.errors import Problem
from keys.access_tokens import AccessToken, TokenError
from keys.api.deps import TokenVerifierDep

REALM = "tongxing"

# Declares the scheme in the OpenAPI document; the checks below do the work.
CLIENT_CREDENTIALS = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/token", scopes={})),
    scheme_name="clientCredentials",
    description="A Bearer access token from our token endpoint (client credentials grant).",
    auto_error=False,
)


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description uses %x20-21 / %x23-5B / %x5D-7E only.
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


def challenge(
    *, error: str | None, description: str | None, scope: str, acr_values: str | None = None
) -> str:
    """A ``WWW-Authenticate: Bearer`` value (RFC 6750 §3), quoted-string safe; with
    ``acr_values`` for RFC 9470's ``insufficient_user_authentication``."""
    parts = [f'realm="{REALM}"', f'scope="{_quoted(scope)}"']
    if error:
        parts.append(f'error="{_quoted(error)}"')
    if description:
        parts.append(f'error_description="{_quoted(description)}"')
    if acr_values:
        parts.append(f'acr_values="{_quoted(acr_values)}"')
    return "Bearer " + ", ".join(parts)


def require_scope(*, scope: str | frozenset[str], resource: str) -> Callable[..., AccessToken]:
    """A dependency admitting requests whose access token is for ``<issuer><resource>``
    and carries ``scope`` (or, for a set, one of its scopes)."""
    named = sorted(scope) if isinstance(scope, frozenset) else [scope]
    wanted = " ".join(named)

    def check(
        request: Request,
        verifier: TokenVerifierDep,
        # A default, not Annotated: the annotation could not see ``scope`` (a closure variable).
        _declared: str | None = Security(CLIENT_CREDENTIALS, scopes=named),
    ) -> AccessToken:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                status=401,
                kind="token-required",
                title="Access token required",
                detail=f"Send an access token with scope {wanted} as a Bearer token.",
                headers={"WWW-Authenticate": challenge(error=None, description=None, scope=wanted)},
            )
        try:
            return verifier.verify(token.strip(), audience=verifier.issuer + resource, scope=scope)
        except TokenError as exc:
            insufficient = exc.error == "insufficient_scope"
            raise Problem(
                status=403 if insufficient else 401,
                kind="insufficient-scope" if insufficient else "invalid-token",
                title="Insufficient scope" if insufficient else "Invalid access token",
                detail=str(exc),
                headers={
                    "WWW-Authenticate": challenge(
                        error=exc.error, description=str(exc), scope=wanted
                    )
                },
            ) from None

    return check
