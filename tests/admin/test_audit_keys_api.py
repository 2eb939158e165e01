"""``/admin/v1/audit``, ``/admin/v1/keys`` and ``/admin/v1/dashboard`` over HTTP, with a real
token for each role: allowed for its role, 403 (recorded) for the others, 401 without one."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from idp.models import Membership
from keys import repository as key_repository
from tests import oidc
from tests.admin import world as w


@dataclass
class Tokens:
    system: str
    security: str
    audit: str
    org: str

    def others(self, *allowed: str) -> list[tuple[str, str]]:
        """(label, token) of every role but ``allowed``."""
        every = {
            "person:sys": self.system,
            "person:sec": self.security,
            "person:aud": self.audit,
            "person:orgadm": self.org,
        }
        return [(label, token) for label, token in every.items() if label not in allowed]


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain)
    w.add_console(domain)
    return built


@pytest.fixture
def tokens(client: TestClient, world: w.World) -> Tokens:
    return Tokens(
        system=w.person_token(client, w.SYSTEM, scope="openid admin:system"),
        security=w.person_token(client, w.SECURITY, scope="openid admin:security"),
        audit=w.person_token(client, w.AUDIT, scope="openid admin:audit"),
        org=w.person_token(
            client, w.ORG_ADMIN, scope="openid org:admin", organisation=world.organisation_id
        ),
    )


def _refusals(client: TestClient, tokens: Tokens) -> list[tuple[str, str]]:
    page = client.get(
        "/admin/v1/audit/events",
        params={"type": "admin.refused", "limit": 200},
        headers=w.bearer(tokens.audit),
    ).json()
    return [(e["actor"], e["subject"]) for e in page["items"]]


def _refused(
    client: TestClient, tokens: Tokens, method: str, url: str, *, allowed: tuple[str, ...]
) -> None:
    assert client.request(method, url).status_code == 401
    for label, token in tokens.others(*allowed):
        answer = client.request(method, url, headers=w.bearer(token))
        assert answer.status_code == 403, (label, url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:tongxing:problem:admin-forbidden"


def test_audit_events_for_the_audit_administrator_only(
    client: TestClient, world: w.World, tokens: Tokens
) -> None:
    audit = w.bearer(tokens.audit)
    first = client.get("/admin/v1/audit/events", params={"limit": 3}, headers=audit)
    assert first.status_code == 200, first.text
    items = first.json()["items"]
    assert [e["index"] for e in items] == sorted((e["index"] for e in items), reverse=True)
    following = client.get(
        "/admin/v1/audit/events",
        params={"limit": 3, "cursor": first.json()["next_cursor"]},
        headers=audit,
    ).json()["items"]
    assert following[0]["index"] == items[-1]["index"] - 1
    granted = client.get(
        "/admin/v1/audit/events",
        params={"type": "admin.role.", "actor": "server:bootstrap", "subject": w.AUDIT},
        headers=audit,
    ).json()["items"]
    assert [(e["type"], e["details"]["role"]) for e in granted] == [
        ("admin.role.granted", "audit-admin")
    ]
    one = client.get(f"/admin/v1/audit/events/{granted[0]['index']}", headers=audit)
    assert one.status_code == 200 and one.headers["etag"].startswith('"')
    body = one.json()
    assert body["leaf"] == granted[0]["leaf"] and body["proof"]["hashes"] is not None
    note_lines = body["checkpoint"]["note"].split("\n")
    assert note_lines[1] == str(body["proof"]["tree_size"])
    assert note_lines[2] == body["checkpoint"]["root_hash"]
    assert len(base64.b64decode(body["checkpoint"]["root_hash"])) == 32
    assert client.get("/admin/v1/audit/events/99999", headers=audit).status_code == 404
    for query in ({"until": "0.5"}, {"since": "2026-02-30T00:00:00Z"}, {"actor": "a\x00b"}):
        refused = client.get("/admin/v1/audit/events", params=query, headers=audit)
        assert refused.status_code == 422, (query, refused.text)
    since = client.get(
        "/admin/v1/audit/events", params={"since": "2000-01-01T08:00:00+08:00"}, headers=audit
    )
    assert since.status_code == 200 and since.json()["items"]
    bad = client.get("/admin/v1/audit/events", params={"cursor": "%%%"}, headers=audit)
    assert bad.status_code == 422
    assert bad.json()["type"] == "urn:tongxing:problem:invalid-admin-request"

    _refused(client, tokens, "GET", "/admin/v1/audit/events", allowed=("person:aud",))
    _refused(client, tokens, "GET", "/admin/v1/audit/events/0", allowed=("person:aud",))
    refused = _refusals(client, tokens)
    for label in ("person:sys", "person:sec", "person:orgadm"):
        assert (label, "audit.events") in refused and (label, "audit.event") in refused


def test_key_status_for_platform_administrators(
    client: TestClient, world: w.World, tokens: Tokens
) -> None:
    for token in (tokens.system, tokens.security, tokens.audit):
        answer = client.get("/admin/v1/keys", headers=w.bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"].startswith('"')
        assert {ca["name"] for ca in answer.json()["certificate_authorities"]} == {
            "root",
            "seal",
            "infra",
        }
    _refused(
        client,
        tokens,
        "GET",
        "/admin/v1/keys",
        allowed=("person:sys", "person:sec", "person:aud"),
    )
    assert ("person:orgadm", "keys.status") in _refusals(client, tokens)


def test_rotation_and_certificate_status_for_the_security_administrator(
    client: TestClient, world: w.World, tokens: Tokens
) -> None:
    security = w.bearer(tokens.security)
    early = client.post("/admin/v1/keys/token/rotate", headers=security)
    assert early.status_code == 409 and "relying parties" in early.json()["detail"]
    rotated = client.post("/admin/v1/keys/token/rotate", json={"force": True}, headers=security)
    assert rotated.status_code == 200, rotated.text
    assert set(rotated.json()) == {"purpose", "active", "next"}
    _refused(client, tokens, "POST", "/admin/v1/keys/token/rotate", allowed=("person:sec",))

    with oidc.domain_of(client).keys.database.reading() as session:
        serial = next(
            c.serial for c in key_repository.certificates(session, issuer="infra", kind="ocsp")
        )
    base = f"/admin/v1/keys/certificates/infra/{serial}"
    for action in ("suspend", "reinstate", "revoke"):
        _refused(client, tokens, "POST", f"{base}/{action}", allowed=("person:sec",))
    assert client.post(f"{base}/reinstate", headers=security).status_code == 409
    suspended = client.post(f"{base}/suspend", headers=security)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert client.post(f"{base}/reinstate", headers=security).json()["status"] == "good"
    bad_reason = client.post(f"{base}/revoke", json={"reason": "because"}, headers=security)
    assert bad_reason.status_code == 422
    revoked = client.post(f"{base}/revoke", json={"reason": "superseded"}, headers=security)
    assert revoked.json()["revocation_reason"] == "superseded"
    assert client.post(f"{base}/suspend", headers=security).status_code == 409
    unknown = client.post("/admin/v1/keys/certificates/infra/abc/suspend", headers=security)
    assert unknown.status_code == 404
    not_a_serial = client.post("/admin/v1/keys/certificates/infra/0X:/suspend", headers=security)
    assert not_a_serial.status_code == 422
    refused = _refusals(client, tokens)
    assert ("person:aud", "keys.rotate") in refused
    assert ("person:sys", "certificates.revoke") in refused


def test_dashboard_for_every_administrator(
    client: TestClient, world: w.World, tokens: Tokens
) -> None:
    assert client.get("/admin/v1/dashboard").status_code == 401
    boards = {
        label: client.get("/admin/v1/dashboard", headers=w.bearer(token))
        for label, token in tokens.others()
    }
    assert all(b.status_code == 200 and b.headers["etag"] for b in boards.values())
    assert "recent_events" in boards["person:aud"].json()
    assert "recent_events" not in boards["person:sys"].json()
    assert "recent_events" not in boards["person:sec"].json()
    org = boards["person:orgadm"].json()
    assert org["scope"] == "organisations"
    assert [o["id"] for o in org["organisations"]] == [world.organisation_id]
    # No longer an administrator of the organisation: the token says org:admin, the
    # database does not; refused and recorded.
    with oidc.domain_of(client).keys.database.transaction() as session:
        session.execute(update(Membership).values(role="member"))
    refused = client.get("/admin/v1/dashboard", headers=w.bearer(tokens.org))
    assert refused.status_code == 403
    assert ("person:orgadm", "dashboard.view") in _refusals(client, tokens)
