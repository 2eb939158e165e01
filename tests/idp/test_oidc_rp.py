"""The relying-party checks of an upstream's discovery document, ID tokens and logout tokens
(``idp.protocol.oidc_rp``), each rule failing alone, and the session methods of a federated
sign-in (``idp.assurance``)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OctKey

from idp import assurance
from idp.protocol import oidc_rp
from idp.protocol.oidc_rp import UpstreamTokenError

ISSUER = "https://idp.province.example"
CLIENT = "tongxing"
NONCE = "n-0S6_WzA2Mj"
KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})
OTHER = ECKey.generate_key("P-256", parameters={"kid": "k1"})
EVENT = {oidc_rp.BACKCHANNEL_EVENT: {}}


def _sign(claims: dict[str, Any], key: Any = KEY, alg: str = "ES256") -> str:
    return jws.serialize_compact({"alg": alg, "kid": "k1"}, json.dumps(claims), key)


def _id_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "wang", "iat": now, "exp": now + 300}
    claims["nonce"] = NONCE
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _check_id(token: str, keys: Any = None) -> dict[str, Any]:
    return oidc_rp.id_token_claims(
        token,
        keys=keys or (lambda refresh: KeySet([KEY])),
        algorithms=["ES256"],
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=NONCE,
    )


def test_a_good_id_token_passes() -> None:
    assert _check_id(_sign(_id_claims()))["sub"] == "wang"
    assert _check_id(_sign(_id_claims(aud=[CLIENT, "other"], azp=CLIENT)))["sub"] == "wang"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"aud": [CLIENT, "other"]}, "azp"),
        ({"azp": "other"}, "azp"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": int(time.time()) - 3600}, "iat"),
        ({"iat": int(time.time()) + 3600}, "iat"),
        ({"nonce": "another"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
    ],
)
def test_each_id_token_rule_refuses(changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(UpstreamTokenError, match=rule):
        _check_id(_sign(_id_claims(**changes)))


def test_signatures_by_strangers_hmac_and_none_are_refused() -> None:
    with pytest.raises(UpstreamTokenError, match="signature"):
        _check_id(_sign(_id_claims(), key=OTHER))
    secret = OctKey.generate_key(256, parameters={"kid": "k1"})
    hmac = jws.serialize_compact({"alg": "HS256"}, json.dumps(_id_claims()), secret)
    with pytest.raises(UpstreamTokenError, match="signature"):
        _check_id(hmac, keys=lambda refresh: KeySet([secret]))
    head, body, _ = _sign(_id_claims()).split(".")
    with pytest.raises(UpstreamTokenError):
        _check_id(f"{head}.{body}.")


def test_an_unknown_key_makes_the_keys_be_asked_for_again() -> None:
    asked: list[bool] = []

    def keys(refresh: bool) -> KeySet:
        asked.append(refresh)
        return KeySet([KEY if refresh else OTHER])  # the upstream rotated its key

    assert _check_id(_sign(_id_claims()), keys=keys)["sub"] == "wang"
    assert asked == [False, True]


def _logout_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120, "jti": "j1"}
    claims.update({"sub": "wang", "sid": "s1", "events": EVENT})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _check_logout(token: str) -> dict[str, Any]:
    return oidc_rp.logout_token_claims(
        token,
        keys=lambda refresh: KeySet([KEY]),
        algorithms=["ES256"],
        issuer=ISSUER,
        client_id=CLIENT,
    )


def test_a_good_logout_token_passes_with_sid_or_sub_alone() -> None:
    assert _check_logout(_sign(_logout_claims()))["sid"] == "s1"
    assert _check_logout(_sign(_logout_claims(sub=None)))["sid"] == "s1"
    assert _check_logout(_sign(_logout_claims(sid=None)))["sub"] == "wang"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"aud": "other"}, "aud"),
        ({"iat": int(time.time()) - 3600}, "iat"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"events": None}, "events"),
        ({"events": {"http://other.example/event": {}}}, "events"),
        ({"nonce": "x"}, "nonce"),  # §2.6 step 5: an ID token must never pass as one
        ({"sid": None, "sub": None}, "neither sid nor sub"),
        ({"jti": None}, "jti"),
    ],
)
def test_each_logout_token_rule_refuses(changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(UpstreamTokenError, match=rule):
        _check_logout(_sign(_logout_claims(**changes)))


def _document(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["ES256", "HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def test_the_discovery_document_is_checked() -> None:
    checked = oidc_rp.metadata(_document(), issuer=ISSUER)
    assert checked.token_auth_method == "client_secret_post"
    assert checked.algorithms == ["ES256"] and checked.end_session_endpoint is None
    basic = oidc_rp.metadata(_document(token_endpoint_auth_methods_supported=None), issuer=ISSUER)
    assert basic.token_auth_method == "client_secret_basic"  # Discovery §3's default
    for changes, rule in (
        ({"issuer": ISSUER + "/"}, "another issuer"),  # identical, not similar (§4.3)
        ({"jwks_uri": None}, "jwks_uri"),
        ({"response_types_supported": ["id_token"]}, "code flow"),
        ({"id_token_signing_alg_values_supported": ["HS256"]}, "algorithm"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "client_secret"),
    ):
        with pytest.raises(UpstreamTokenError, match=rule):
            oidc_rp.metadata(_document(**changes), issuer=ISSUER)


@pytest.mark.parametrize(
    "name", ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"]
)
@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/x",
        "http://127.0.0.1/x",  # loopback http only when the discovery URL is http itself
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/x",
    ],
)
def test_every_endpoint_of_the_discovery_document_must_be_https(name: str, url: str) -> None:
    with pytest.raises(UpstreamTokenError, match=f"{name} is not an https URL"):
        oidc_rp.metadata(_document(**{name: url}), issuer=ISSUER)


def test_an_http_end_session_endpoint_is_refused_and_loopback_http_only_in_demo() -> None:
    with pytest.raises(UpstreamTokenError, match="end_session_endpoint"):
        oidc_rp.metadata(_document(end_session_endpoint="http://evil.example/x"), issuer=ISSUER)
    local = "http://127.0.0.1:9/x"
    demo = oidc_rp.metadata(
        _document(jwks_uri=local, end_session_endpoint=local),
        issuer=ISSUER,
        allow_loopback_http=True,
    )
    assert demo.jwks_uri == local and demo.end_session_endpoint == local
    with pytest.raises(UpstreamTokenError, match="jwks_uri"):
        oidc_rp.metadata(
            _document(jwks_uri="http://evil.example/k"), issuer=ISSUER, allow_loopback_http=True
        )


def test_a_federated_sign_in_reaches_its_mapped_level_and_says_fed() -> None:
    assert assurance.strength(["fed:3"]) == 3
    assert assurance.strength(["fed:1"]) == 1
    assert assurance.level(proofing_level=2, methods=["fed:4"]) == 2  # never above proofing
    assert assurance.amr(["fed:2", "fed-amr:pwd", "fed-amr:otp"]) == ["fed", "pwd", "otp"]
    assert assurance.amr(["fed:2", "fed-amr:not-rfc8176"]) == ["fed"]
    # The upstream's sign-in is a factor of its own: one of ours added makes two kinds.
    assert assurance.strength(["fed:2", "totp"]) == 3
    assert assurance.amr(["fed:2", "totp"]) == ["fed", "otp", "mfa"]
    assert assurance.helps("totp", have=["fed:2"], target=3)


def test_a_federated_method_without_factor_kinds_is_not_a_second_method() -> None:
    assert assurance.strength(["passkey-uv"]) == 3
    assert assurance.strength(["fed:1", "passkey-uv"]) == 3
    assert assurance.strength(["fed:2", "passkey-uv"]) == 4
