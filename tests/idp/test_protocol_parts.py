"""Protocol building blocks of the code flow: PKCE, pairwise subjects, ID tokens (checked
with joserfc, a JOSE implementation we did not write)."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.errors import InvalidGrant, InvalidRequest
from idp.protocol import id_token, pairwise, rfc7636
from keys import token_keys
from keys.runtime import KeyServices


def test_pkce_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert rfc7636.s256(verifier) == challenge
    assert rfc7636.check_challenge(challenge=challenge, method="S256") == challenge
    rfc7636.verify(verifier=verifier, challenge=challenge)
    with pytest.raises(InvalidGrant, match="does not match"):
        rfc7636.verify(verifier=verifier[:-1] + "h", challenge=challenge)
    with pytest.raises(InvalidGrant, match="malformed"):
        rfc7636.verify(verifier="short", challenge=challenge)


@pytest.mark.parametrize(
    ("challenge", "method", "message"),
    [
        (None, None, "required"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain", "S256"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None, "S256"),
        ("too-short", "S256", "43 base64url"),
    ],
)
def test_pkce_refuses_plain_and_malformed(
    challenge: str | None, method: str | None, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        rfc7636.check_challenge(challenge=challenge, method=method)


def test_pairwise_subjects_are_stable_per_sector_and_unlinkable() -> None:
    key = b"k" * 32
    one = pairwise.subject_for(key=key, sector="permits.example", local_subject="u1")
    assert one == pairwise.subject_for(key=key, sector="permits.example", local_subject="u1")
    assert one != pairwise.subject_for(key=key, sector="housing.example", local_subject="u1")
    assert one != pairwise.subject_for(key=b"j" * 32, sector="permits.example", local_subject="u1")
    assert pairwise.subject_for(key=key, sector=None, local_subject="u1") == "u1"


def test_id_token_verifies_with_an_independent_jose_library(key_services: KeyServices) -> None:
    now = int(time.time())
    with key_services.database.transaction() as session:
        key = token_keys.active_signing_key(session, key_services.custody)
        published = token_keys.jwks(
            token_keys.published(session, retention=key_services.token_key_retention)
        )
    claim_set = id_token.claims(
        issuer="http://127.0.0.1:8000",
        client_id="permits",
        subject="u1",
        auth_time=now - 5,
        now=now,
        lifetime=300,
        acr="urn:tongxing:acr:password",
        amr=["pwd"],
        sid="s1",
        nonce="n-0S6_WzA2Mj",
        access_token="jHkWEdUXMU1BwAsC4vtUsZwnNOeiDB0Oel1TdWb4SuA",
        organisation=id_token.Organisation(
            uscc="91350100M000100Y43", name="某某科技有限公司", role="admin"
        ),
    )
    token = id_token.sign(key=key, claim_set=claim_set)
    decoded = jwt.decode(
        token, KeySet.import_key_set(json.loads(json.dumps(published))), algorithms=["ES256"]
    )
    assert decoded.header["kid"] == key.key_id and decoded.header["typ"] == "JWT"
    assert decoded.claims["nonce"] == "n-0S6_WzA2Mj"
    assert decoded.claims["org"] == {
        "code": "91350100M000100Y43",
        "name": "某某科技有限公司",
        "role": "admin",
    }
    assert decoded.claims["at_hash"] == id_token.at_hash(
        "jHkWEdUXMU1BwAsC4vtUsZwnNOeiDB0Oel1TdWb4SuA"
    )
    # OIDC Core Appendix A.3's own example pair.
    assert id_token.at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == (
        "77QmUPtjPfzWtF2AnpK9RQ"
    )
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        jwt.decode(tampered, KeySet.import_key_set(published), algorithms=["ES256"])
