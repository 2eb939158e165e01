"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 (the same document).

The document depends only on the issuer and the signing algorithm (settings fixed for the
life of a process), so its bytes and ETag are computed once and served by ``async``
handlers with no thread and no database; ``If-None-Match`` gets 304.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from fastapi import APIRouter, Request, Response

from core.http_cache import CachedBody
from idp.api.deps import IdpDep
from idp.assurance import ACR_VALUES
from idp.protocol import rfc7523
from idp.protocol.oidc_core import SCOPES
from idp.resources import RESOURCES
from idp.runtime import IdentityProvider
from keys.algorithms import KeyAlgorithm

router = APIRouter(tags=["identity"])


def metadata(issuer: str, algorithm: str) -> dict[str, Any]:
    """What this provider supports, with absolute endpoint URLs."""
    resource_scopes = sorted({s for scopes in RESOURCES.values() for s in scopes})
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": [*SCOPES, *resource_scopes],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
        "subject_types_supported": ["public", "pairwise"],
        # RS256 is offered to every client that registers for it (Discovery §3: MUST).
        "id_token_signing_alg_values_supported": list(dict.fromkeys([algorithm, "RS256"])),
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(rfc7523.ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "at_hash",
            "azp",
            "name",
            "preferred_username",
            "updated_at",
            "proofing_level",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "org",
        ],
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "ui_locales_supported": ["zh-CN", "en"],
        "resource_indicators_supported": True,
    }


CACHE_CONTROL = "public, max-age=300"


@functools.lru_cache(maxsize=16)
def document(issuer: str, algorithm: str) -> CachedBody:
    """The metadata of ``issuer`` as response bytes with their ETag (one per process)."""
    body = json.dumps(
        metadata(issuer, algorithm), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()
    return CachedBody(
        body,
        media_type="application/json",
        cache_control=CACHE_CONTROL,
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def metadata_response(request: Request, idp: IdentityProvider) -> Response:
    """The metadata document, or 304 when the client already holds it."""
    algorithm = KeyAlgorithm(idp.settings.key_algorithm).value
    return document(idp.issuer, algorithm).response(request.headers.get("if-none-match"))


@router.get("/.well-known/openid-configuration", summary="OpenID provider metadata")
async def openid_configuration(request: Request, idp: IdpDep) -> Response:
    """OpenID Connect Discovery 1.0 §4."""
    return await metadata_response(request, idp)


@router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata")
async def oauth_metadata(request: Request, idp: IdpDep) -> Response:
    """RFC 8414 §3."""
    return await metadata_response(request, idp)
