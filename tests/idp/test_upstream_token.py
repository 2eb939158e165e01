"""The upstream's ID token our SSO session keeps (the hint of our logout at the upstream) is
sealed: no claim of it, the identity number included, sits in clear in the store; it opens
only for its upstream, under this installation's data key. Both storage configurations."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from idp import upstream_token
from idp.runtime import IdentityProvider

NATIONAL_ID = "11010519491231002X"


def _token() -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"iss": "https://platform.example", "sub": "p-1", "id_number": NATIONAL_ID}
    return f"{part({'alg': 'ES256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_the_kept_token_is_sealed_and_opens_only_for_its_upstream(client: TestClient) -> None:
    idp = runtime_of(client.app).get(IdentityProvider)
    token = _token()
    kept = upstream_token.seal(idp, token, upstream_id="province")
    assert kept.startswith(upstream_token.PREFIX)
    assert NATIONAL_ID not in kept and token.split(".")[1] not in kept
    assert kept != upstream_token.seal(idp, token, upstream_id="province")  # a fresh nonce
    assert upstream_token.open_sealed(idp, kept, upstream_id="province") == token
    assert upstream_token.open_sealed(idp, kept, upstream_id="another") is None
    assert upstream_token.open_sealed(idp, kept[:-4] + "AAAA", upstream_id="province") is None
    assert upstream_token.open_sealed(idp, "sealed.!!", upstream_id="province") is None
    # A session from before sealing kept it in clear: read as it is.
    assert upstream_token.open_sealed(idp, token, upstream_id="province") == token
    assert upstream_token.open_sealed(idp, "", upstream_id="province") is None
