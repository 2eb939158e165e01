"""RFC 9068 access tokens: minted with the active key, verified strictly, fuzzed."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import access_tokens
from keys.access_tokens import AccessTokenVerifier, TokenError
from keys.runtime import KeyServices

AUDIENCE_PATH = "/audit"


def _verifier(keys: KeyServices) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        database=keys.database,
        issuer=keys.custody.settings.issuer,
        retention=keys.token_key_retention,
    )


def _mint(keys: KeyServices, **claims: Any) -> str:
    issuer = keys.custody.settings.issuer
    with keys.database.transaction() as session:
        return access_tokens.mint(
            session,
            custody=keys.custody,
            issuer=issuer,
            audience=issuer + AUDIENCE_PATH,
            subject="s",
            client_id="c",
            scope="audit:read",
            lifetime=timedelta(minutes=5),
            extra=claims or None,
        )


def _resign(keys: KeyServices, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token with arbitrary header and claims, properly signed with the active key."""
    from keys import token_keys
    from keys.algorithms import jws_signature

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    with keys.database.transaction() as session:
        key = token_keys.active_signing_key(session, keys.custody)
    header = {"typ": "at+jwt", "alg": key.algorithm.value, "kid": key.key_id, **header}
    signing_input = f"{part(header)}.{part(claims)}"
    signature = jws_signature(key.algorithm, key.sign(signing_input.encode()))
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _claims(keys: KeyServices, **overrides: Any) -> dict[str, Any]:
    issuer = keys.custody.settings.issuer
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": issuer + AUDIENCE_PATH,
        "sub": "s",
        "client_id": "c",
        "scope": "audit:read",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }


def test_minted_tokens_verify(key_services: KeyServices) -> None:
    audience = key_services.custody.settings.issuer + AUDIENCE_PATH
    token = _verifier(key_services).verify(
        _mint(key_services), audience=audience, scope="audit:read"
    )
    assert token.subject == "s" and token.client_id == "c"
    assert token.scopes == frozenset({"audit:read"})


@pytest.mark.parametrize(
    ("header", "claims", "message"),
    [
        ({"crit": ["exp"]}, {}, "critical header"),
        ({"alg": 'x", error="y'}, {}, "unacceptable signature algorithm"),
        ({"kid": 123}, {}, "unknown signing key"),
        ({}, {"aud": {"a": 1}}, "not for this resource"),
        ({}, {"aud": 5}, "not for this resource"),
        ({}, {"exp": True}, "no valid exp"),
        ({}, {"exp": "soon"}, "no valid exp"),
        ({}, {"iat": time.time() + 3600.5}, "iat is invalid or in the future"),
        ({}, {"nbf": "later"}, "nbf is invalid"),
    ],
)
def test_strict_header_and_claims(
    key_services: KeyServices, header: dict[str, Any], claims: dict[str, Any], message: str
) -> None:
    token = _resign(key_services, header, _claims(key_services, **claims))
    audience = key_services.custody.settings.issuer + AUDIENCE_PATH
    with pytest.raises(TokenError, match=message) as caught:
        _verifier(key_services).verify(token, audience=audience, scope="audit:read")
    assert '"' not in str(caught.value)  # nothing from the token is echoed


def test_unknown_kids_do_not_reload_keys_every_time(key_services: KeyServices) -> None:
    verifier = _verifier(key_services)
    audience = key_services.custody.settings.issuer + AUDIENCE_PATH
    verifier.verify(_mint(key_services), audience=audience, scope="audit:read")
    loaded_at = verifier._loaded_at
    for index in range(5):
        forged = _resign(key_services, {"kid": f"bogus-{index}"}, _claims(key_services))
        with pytest.raises(TokenError, match="unknown signing key"):
            verifier.verify(forged, audience=audience, scope="audit:read")
    assert verifier._loaded_at == loaded_at


@settings(max_examples=300, deadline=None)
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda a, b, c: f"{a}.{b}.{c}",
            st.text(max_size=80),
            st.text(max_size=80),
            st.text(max_size=80),
        ),
        st.builds(
            lambda h, c: ".".join(
                [
                    base64.urlsafe_b64encode(json.dumps(h).encode()).decode(),
                    base64.urlsafe_b64encode(json.dumps(c).encode()).decode(),
                    "AAAA",
                ]
            ),
            st.dictionaries(
                st.sampled_from(["alg", "typ", "kid", "crit"]),
                st.one_of(
                    st.none(),
                    st.integers(),
                    st.text(max_size=10),
                    st.lists(st.text(max_size=5), max_size=2),
                ),
            ),
            st.dictionaries(st.text(max_size=5), st.integers()),
        ),
    )
)
def test_fuzzed_tokens_only_ever_fail_cleanly(token: str) -> None:
    verifier = AccessTokenVerifier.__new__(AccessTokenVerifier)
    verifier.issuer = "http://127.0.0.1:8000"
    verifier._keys, verifier._loaded_at = {}, time.monotonic()
    import threading

    verifier._lock = threading.Lock()
    from core.ttl_cache import TtlCache

    verifier._signed_claims = TtlCache(seconds=5)
    with pytest.raises(TokenError):
        verifier.verify(token, audience="http://127.0.0.1:8000/audit", scope="audit:read")
