"""``/audit/v1`` over HTTP in both storage configurations; entries need an audit:read token."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from audit import checkpoint, merkle
from audit.log import AuditLog
from core.api.deps import runtime_of
from keys import access_tokens
from keys.runtime import KeyServices


@pytest.fixture
def audit_log(client: TestClient) -> AuditLog:
    log: AuditLog = runtime_of(client.app).get(AuditLog)
    return log


def _token(
    client: TestClient,
    *,
    scope: str = "audit:read",
    audience: str = "/audit",
    lifetime: int = 300,
    issuer: str | None = None,
) -> str:
    keys: KeyServices = runtime_of(client.app).get(KeyServices)
    base = keys.custody.settings.issuer
    with keys.database.transaction() as session:
        return access_tokens.mint(
            session,
            custody=keys.custody,
            issuer=issuer or base,
            audience=base + audience,
            subject="auditor-1",
            client_id="audit-office",
            scope=scope,
            lifetime=timedelta(seconds=lifetime),
        )


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_checkpoint_key_and_proofs_verify_without_our_code(client: TestClient) -> None:
    note = client.get("/audit/v1/checkpoint")
    assert note.status_code == 200
    assert note.headers["content-type"].startswith("text/plain")
    key = client.get("/audit/v1/key").json()
    from cryptography.hazmat.primitives import serialization

    der = serialization.load_pem_public_key(key["public_key_pem"].encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    point = checkpoint.verify(note.text, origin=key["origin"], public_key_der=der)
    entries = client.get(
        "/audit/v1/entries?start=0", headers={"authorization": f"Bearer {_token(client)}"}
    ).json()["entries"]
    assert len(entries) >= point.size
    index = point.size - 1
    proof = client.get(f"/audit/v1/proof/inclusion?index={index}&tree_size={point.size}").json()
    assert proof["leaf_index"] == index and proof["tree_size"] == point.size
    leaf = _b64(entries[index]["leaf"])
    assert json.loads(leaf)["seq"] == index == entries[index]["seq"]
    assert merkle.verify_inclusion(
        leaf=merkle.leaf_hash(leaf),
        index=index,
        size=point.size,
        proof=[_b64(h) for h in proof["hashes"]],
        root=point.root,
    )
    consistency = client.get(f"/audit/v1/proof/consistency?first=1&second={point.size}").json()
    first_root = merkle.leaf_hash(_b64(entries[0]["leaf"]))
    assert merkle.verify_consistency(
        first=1,
        second=point.size,
        proof=[_b64(h) for h in consistency["hashes"]],
        first_root=first_root,
        second_root=point.root,
    )
    listing = client.get("/audit/v1/checkpoints").json()["checkpoints"]
    assert listing[-1]["note"] == note.text


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/audit/v1/proof/inclusion?index=100000", "invalid-range"),
        ("/audit/v1/proof/consistency?first=100000&second=100001", "invalid-range"),
        ("/audit/v1/proof/inclusion?index=-1", "invalid-request"),
    ],
)
def test_bad_proof_requests(client: TestClient, path: str, kind: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 422)
    assert response.json()["type"] == f"urn:tongxing:problem:{kind}"


def test_entries_need_a_valid_token_with_the_scope(client: TestClient) -> None:
    missing = client.get("/audit/v1/entries")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="tongxing"')
    cases = {
        "wrong scope": (_token(client, scope="seal:sign"), 403, "insufficient_scope"),
        "wrong audience": (_token(client, audience="/seal"), 401, "invalid_token"),
        "expired": (_token(client, lifetime=-120), 401, "invalid_token"),
        "wrong issuer": (_token(client, issuer="https://evil.example"), 401, "invalid_token"),
    }
    for name, (token, status, error) in cases.items():
        response = client.get("/audit/v1/entries", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == status, name
        assert f'error="{error}"' in response.headers["www-authenticate"], name


def _forge(
    token: str,
    *,
    header: dict[str, object] | None = None,
    claims: dict[str, object] | None = None,
    signature: str | None = None,
) -> str:
    head, body, sig = token.split(".")

    def encode(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    def decode(part: str) -> dict[str, object]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    new_head = encode({**decode(head), **header}) if header else head
    new_body = encode({**decode(body), **claims}) if claims else body
    return f"{new_head}.{new_body}.{signature if signature is not None else sig}"


def test_forged_tokens_are_refused(client: TestClient) -> None:
    good = _token(client)
    forgeries = {
        "alg none": _forge(good, header={"alg": "none"}, signature=""),
        "hmac": _forge(good, header={"alg": "HS256"}),
        "id token typ": _forge(good, header={"typ": "JWT"}),
        "unknown kid": _forge(good, header={"kid": "token-signing-unknown"}),
        "scope added": _forge(good, claims={"scope": "audit:read admin"}),
        "extended": _forge(good, claims={"exp": int(time.time()) + 10**6}),
        "garbage": "not.a.token",
    }
    for name, token in forgeries.items():
        response = client.get("/audit/v1/entries", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
    assert (
        client.get("/audit/v1/entries", headers={"authorization": f"Bearer {good}"}).status_code
        == 200
    )
