"""What an upstream OpenID provider's answer says here: the code redeemed, the ID token
checked (with userinfo for the claims it lacks), when the person signed in there, and the
methods it gives our session.

Security contract: the code is redeemed with the PKCE verifier at the upstream's token
endpoint and the ID token checked by :func:`idp.protocol.oidc_rp.id_token_claims` (signature,
``iss``, ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``); userinfo adds only the claims the
administrator's map names and the ID token lacks, for the same ``sub``; under ``max_age``
the upstream's ``auth_time`` must be present and fresh enough. Used by
:mod:`idp.federation`.
"""

from __future__ import annotations

import time
from typing import Any

from idp import upstream_token, upstreams
from idp.models import UpstreamProvider
from idp.protocol import oidc_rp
from idp.runtime import IdentityProvider


def verified(
    idp: IdentityProvider,
    upstream: UpstreamProvider,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
    nonce: str,
    max_age: int | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Redeem ``code`` (PKCE ``verifier``) and check the ID token (``nonce``, ``max_age``):
    its claims (with userinfo's, for claims it lacks) and the upstream session's details
    kept in ours. Raises :class:`oidc_rp.UpstreamTokenError` or
    :class:`idp.upstream_metadata.UpstreamUnavailable`."""
    directory = idp.upstream_directory
    metadata = directory.metadata(upstream)
    with idp.database.reading() as session:
        secret = upstreams.client_secret(session, data_keys=idp.data_keys, upstream=upstream)
    tokens = directory.redeem(
        metadata,
        client_id=upstream.client_id,
        client_secret=secret,
        code=code,
        redirect_uri=redirect_uri,
        verifier=verifier,
    )
    id_token = tokens["id_token"]
    claims = oidc_rp.id_token_claims(
        id_token,
        keys=directory.key_loader(metadata),
        algorithms=metadata.algorithms,
        issuer=upstream.issuer,
        client_id=upstream.client_id,
        nonce=nonce,
    )
    auth_time(claims, max_age=max_age)
    wanted = [c for c in upstream.claim_map.values() if c not in claims]
    if upstream.claim_map.get("phone") in wanted:  # its verified flag from the same answer
        wanted.append("phone_number_verified")
    access_token = tokens.get("access_token")
    if wanted and isinstance(access_token, str):
        extra = directory.userinfo(metadata, access_token=access_token, subject=claims["sub"])
        claims = {**{k: v for k, v in extra.items() if k in wanted}, **claims}
    info = {
        "id": upstream.id,
        "sub": str(claims["sub"]),
        # For our logout's id_token_hint; sealed, as it may carry the identity number.
        "id_token": upstream_token.seal(idp, id_token, upstream_id=upstream.id),
    }
    if isinstance(claims.get("sid"), str):
        info["sid"] = claims["sid"]
    return claims, info


def auth_time(claims: dict[str, Any], *, max_age: int | None) -> int | None:
    """The upstream's ``auth_time`` (never later than now), or None; when we sent ``max_age``
    it must be present and no older than that (30 s leeway for clocks, Core §3.1.3.7 item 13),
    else :class:`oidc_rp.UpstreamTokenError`."""
    now = int(time.time())
    value = claims.get("auth_time")
    if not isinstance(value, int | float) or isinstance(value, bool):
        if max_age is not None:
            raise oidc_rp.UpstreamTokenError("auth_time is missing although max_age was sent")
        return None
    at = min(int(value), now)
    if max_age is not None and now - at > max_age + oidc_rp.LEEWAY:
        raise oidc_rp.UpstreamTokenError("auth_time is older than max_age")
    return at


def methods(upstream: UpstreamProvider, claims: dict[str, Any]) -> list[str]:
    """Our session's methods for the answer: ``fed:<level>`` (its ``acr`` through the
    administrator's map, 1 when unmapped) and the mapped ``amr`` values (``fed-amr:``)."""
    acr = claims.get("acr")
    level = upstream.acr_map.get(acr, 1) if isinstance(acr, str) else 1
    amr = claims.get("amr")
    values = amr if isinstance(amr, list) else []
    passed = [upstream.amr_map[a] for a in values if isinstance(a, str) and a in upstream.amr_map]
    return [f"fed:{level}", *dict.fromkeys(f"fed-amr:{v}" for v in passed)]
