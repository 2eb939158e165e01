"""``/admin/v1/seal-applications``, ``/seals`` and ``/grants`` over HTTP with real tokens:
each role allowed where the rule book says, 403 (and on record) elsewhere, 401 without a
token; and a grant seals through ``/seal/v1/sign`` only once approved."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient

from admin import seal_applications
from idp import accounts
from tests import oidc
from tests.admin import seal_world as sw
from tests.admin import world as w
from tongxing.demo_sealing import sample_permit


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = sw.build(domain)
    w.add_console(domain)
    return built


def _tokens(client: TestClient, world: w.World, *logins: str) -> dict[str, dict[str, str]]:
    """Bearer headers of each login acting in its administrator capacity."""
    scopes = {w.SYSTEM: "admin:system", w.SECURITY: "admin:security", w.AUDIT: "admin:audit"}
    headers = {}
    for login in logins:
        if login in scopes:
            token = w.person_token(client, login, scope=f"openid {scopes[login]}")
        else:
            uscc = sw.OTHER_USCC if login == sw.OTHER else oidc.USCC
            token = w.person_token(
                client,
                login,
                scope="openid org:admin",
                organisation=sw.organisation_id(world, uscc),
            )
        # ``If-Match: *`` (any current version): these tests are about roles; the
        # precondition has its own tests (428 without it, 412 when stale).
        headers[login] = {**w.bearer(token), "if-match": "*"}
    return headers


ALL = (w.SYSTEM, w.SECURITY, w.AUDIT, w.ORG_ADMIN, sw.OTHER)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["type"] in (
        "urn:tongxing:problem:admin-forbidden",
        "urn:tongxing:problem:second-person-needed",
    )


def _refusals(world: w.World) -> list[tuple[str, str]]:
    return [(e.actor, e.subject) for e in sw.events(world, "admin.refused")]


def test_seal_applications_over_http(client: TestClient, world: w.World) -> None:
    as_ = _tokens(client, world, *ALL)
    assert client.get("/admin/v1/seal-applications").status_code == 401
    body = {"type": "contract", "image_png": base64.b64encode(sw.transparent_png()).decode()}
    assert client.post("/admin/v1/seal-applications", json=body).status_code == 401
    for login in (w.SYSTEM, w.SECURITY, w.AUDIT):
        _refused(client.post("/admin/v1/seal-applications", json=body, headers=as_[login]))
    # The other organisation's administrator cannot file for the first organisation.
    foreign = {**body, "organisation": oidc.USCC}
    _refused(client.post("/admin/v1/seal-applications", json=foreign, headers=as_[sw.OTHER]))
    bad = client.post(
        "/admin/v1/seal-applications", json={**body, "image_png": "%%%"}, headers=as_[w.ORG_ADMIN]
    )
    assert bad.status_code == 422
    filed = client.post("/admin/v1/seal-applications", json=body, headers=as_[w.ORG_ADMIN])
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    assert filed.json()["image"] == "uploaded" and filed.headers["location"].endswith(app_id)
    image = client.get(f"/admin/v1/seal-applications/{app_id}/image", headers=as_[w.SECURITY])
    assert image.headers["content-type"] == "image/png"
    for login in ALL:
        listed = client.get("/admin/v1/seal-applications", headers=as_[login])
        assert listed.status_code == 200
        expected = [] if login == sw.OTHER else [app_id]
        assert [a["id"] for a in listed.json()["items"]] == expected
    _refused(client.get(f"/admin/v1/seal-applications/{app_id}", headers=as_[sw.OTHER]))
    read = client.get(f"/admin/v1/seal-applications/{app_id}", headers=as_[w.SECURITY])
    etag = read.headers["etag"]
    # A system administrator cannot approve a seal application; nor anyone but security.
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN, sw.OTHER):
        _refused(client.post(f"/admin/v1/seal-applications/{app_id}/approve", headers=as_[login]))
    assert ("person:sys", "seal_applications.approve") in _refusals(world)
    stale = client.post(
        f"/admin/v1/seal-applications/{app_id}/approve",
        headers={**as_[w.SECURITY], "if-match": '"0000"'},
    )
    assert stale.status_code == 412
    approved = client.post(
        f"/admin/v1/seal-applications/{app_id}/approve",
        json={"days": 30},
        headers={**as_[w.SECURITY], "if-match": etag},
    )
    assert approved.status_code == 200, approved.text
    seal_id = approved.json()["seal_id"]
    assert approved.headers["etag"] != etag
    seal = client.get(f"/admin/v1/seals/{seal_id}", headers=as_[w.ORG_ADMIN]).json()
    assert seal["image"] == "uploaded" and seal["status"] == "active"
    again = client.post(
        f"/admin/v1/seal-applications/{app_id}/reject",
        json={"reason": "too late"},
        headers=as_[w.SECURITY],
    )
    assert again.status_code == 409


def test_the_applicant_cannot_approve_their_own_over_http(
    client: TestClient, world: w.World
) -> None:
    with world.domain.keys.database.transaction() as session:
        accounts.add_member(
            session,
            events=world.domain.audit,
            organisation=oidc.USCC,
            login=w.SECURITY,
            role="admin",
            actor="test",
        )
    both = {"if-match": "*"} | w.bearer(
        w.person_token(
            client,
            w.SECURITY,
            scope="openid admin:security org:admin",
            organisation=world.organisation_id,
        )
    )
    filed = client.post("/admin/v1/seal-applications", json={"type": "finance"}, headers=both)
    assert filed.status_code == 201, filed.text
    own = client.post(f"/admin/v1/seal-applications/{filed.json()['id']}/approve", headers=both)
    assert own.status_code == 403
    assert own.json()["type"] == "urn:tongxing:problem:second-person-needed"


def test_seals_over_http(client: TestClient, world: w.World) -> None:
    own = sw.make_seal(world)
    theirs = sw.make_seal(world, applicant=sw.OTHER, uscc=sw.OTHER_USCC)
    as_ = _tokens(client, world, *ALL)
    for path in ("", f"/{own}", f"/{own}/image", f"/{own}/certificate"):
        assert client.get(f"/admin/v1/seals{path}").status_code == 401
    for action in ("suspend", "resume", "revoke", "renew"):
        assert client.post(f"/admin/v1/seals/{own}/{action}").status_code == 401
    for login in ALL:
        listed = client.get("/admin/v1/seals", headers=as_[login]).json()["items"]
        expected = {w.ORG_ADMIN: [own], sw.OTHER: [theirs]}.get(login, [own, theirs])
        assert [s["id"] for s in listed] == expected
    pem = client.get(f"/admin/v1/seals/{own}/certificate", headers=as_[w.AUDIT])
    assert pem.text.startswith("-----BEGIN CERTIFICATE")
    png = client.get(f"/admin/v1/seals/{own}/image", headers=as_[w.ORG_ADMIN])
    assert png.content.startswith(b"\x89PNG")
    # An organisation administrator cannot touch another organisation's seal.
    _refused(client.get(f"/admin/v1/seals/{theirs}", headers=as_[w.ORG_ADMIN]))
    _refused(client.get(f"/admin/v1/seals/{theirs}/image", headers=as_[w.ORG_ADMIN]))
    _refused(client.post(f"/admin/v1/seals/{theirs}/suspend", headers=as_[w.ORG_ADMIN]))
    for login in (w.SYSTEM, w.AUDIT):
        _refused(client.post(f"/admin/v1/seals/{own}/suspend", headers=as_[login]))
    suspended = client.post(f"/admin/v1/seals/{own}/suspend", headers=as_[w.ORG_ADMIN])
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    for login in (w.ORG_ADMIN, w.SYSTEM, w.AUDIT):
        _refused(client.post(f"/admin/v1/seals/{own}/resume", headers=as_[login]))
    assert ("person:orgadm", "seals.resume") in _refusals(world)
    read = client.get(f"/admin/v1/seals/{own}", headers=as_[w.SECURITY])
    resumed = client.post(
        f"/admin/v1/seals/{own}/resume",
        headers={**as_[w.SECURITY], "if-match": read.headers["etag"]},
    )
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    # The version read before the resumption is stale now.
    stale = client.post(
        f"/admin/v1/seals/{own}/revoke",
        headers={**as_[w.SECURITY], "if-match": read.headers["etag"]},
    )
    assert stale.status_code == 412
    renewed = client.post(
        f"/admin/v1/seals/{own}/renew", json={"days": 10}, headers=as_[w.SECURITY]
    )
    assert renewed.status_code == 200
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        _refused(client.post(f"/admin/v1/seals/{own}/revoke", headers=as_[login]))
        _refused(client.post(f"/admin/v1/seals/{own}/renew", headers=as_[login]))
    bad = client.post(
        f"/admin/v1/seals/{own}/revoke", json={"reason": "bored"}, headers=as_[w.SECURITY]
    )
    assert bad.status_code == 422
    revoked = client.post(
        f"/admin/v1/seals/{own}/revoke",
        json={"reason": "key_compromise"},
        headers={**as_[w.SECURITY], "if-match": renewed.headers["etag"]},
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.post(f"/admin/v1/seals/{own}/suspend", headers=as_[w.SECURITY]).status_code == 409
    assert client.get("/admin/v1/seals/seal_nothere", headers=as_[w.AUDIT]).status_code == 404


def _sign(client: TestClient, seal_id: str) -> httpx.Response:
    token = w.service_token(client, sw.CERTSYS, "seal:sign")
    return client.post(
        "/seal/v1/sign",
        headers=w.bearer(token),
        files={"file": ("permit.pdf", sample_permit(), "application/pdf")},
        data={"seal_id": seal_id, "anchor": "（盖章）"},
    )


def test_a_pending_grant_cannot_seal_and_an_approved_one_can(
    client: TestClient, world: w.World
) -> None:
    # The certificate system belongs to the first organisation, the seal to the other.
    seal_id = sw.make_seal(world, applicant=sw.OTHER, uscc=sw.OTHER_USCC)
    as_ = _tokens(client, world, *ALL)
    body = {"seal_id": seal_id, "client_id": sw.CERTSYS, "max_uses": 3}
    assert client.post("/admin/v1/grants", json=body).status_code == 401
    assert client.get("/admin/v1/grants").status_code == 401
    for login in (w.SECURITY, w.AUDIT, sw.OTHER):
        _refused(client.post("/admin/v1/grants", json=body, headers=as_[login]))
    asked = client.post("/admin/v1/grants", json=body, headers=as_[w.ORG_ADMIN])
    assert asked.status_code == 201, asked.text
    grant_id = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    refused = _sign(client, seal_id)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:no-grant"
    for login in ALL:
        listed = client.get("/admin/v1/grants", headers=as_[login])
        assert [g["id"] for g in listed.json()["items"]] == [grant_id]
    for login in (w.SYSTEM, w.SECURITY, w.AUDIT, w.ORG_ADMIN):
        _refused(client.post(f"/admin/v1/grants/{grant_id}/approve", headers=as_[login]))
    wider = client.post(
        f"/admin/v1/grants/{grant_id}/approve", json={"max_uses": 4}, headers=as_[sw.OTHER]
    )
    assert wider.status_code == 422
    read = client.get(f"/admin/v1/grants/{grant_id}", headers=as_[sw.OTHER])
    approved = client.post(
        f"/admin/v1/grants/{grant_id}/approve",
        json={"max_uses": 2, "document_types": None},
        headers={**as_[sw.OTHER], "if-match": read.headers["etag"]},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "person:other" and approved.json()["max_uses"] == 2
    sealed = _sign(client, seal_id)
    assert sealed.status_code == 200, sealed.text
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        _refused(client.post(f"/admin/v1/grants/{grant_id}/revoke", headers=as_[login]))
    revoked = client.post(f"/admin/v1/grants/{grant_id}/revoke", headers=as_[w.SECURITY])
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert _sign(client, seal_id).json()["type"] == "urn:tongxing:problem:no-grant"


def test_grant_rejection_over_http(client: TestClient, world: w.World) -> None:
    seal_id = sw.make_seal(world)
    as_ = _tokens(client, world, w.SYSTEM, w.ORG_ADMIN, sw.OTHER)
    asked = client.post(
        "/admin/v1/grants",
        json={"seal_id": seal_id, "client_id": sw.CERTSYS},
        headers=as_[w.SYSTEM],
    )
    assert asked.status_code == 201
    grant_id = asked.json()["id"]
    assert (
        client.post(f"/admin/v1/grants/{grant_id}/reject", json={"reason": "x"}).status_code == 401
    )
    _refused(
        client.post(
            f"/admin/v1/grants/{grant_id}/reject", json={"reason": "no"}, headers=as_[sw.OTHER]
        )
    )
    _refused(client.get(f"/admin/v1/grants/{grant_id}", headers=as_[sw.OTHER]))
    rejected = client.post(
        f"/admin/v1/grants/{grant_id}/reject", json={"reason": "不需要"}, headers=as_[w.ORG_ADMIN]
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert _sign(client, seal_id).json()["type"] == "urn:tongxing:problem:no-grant"
    missing = client.post(
        "/admin/v1/grants", json={"seal_id": seal_id, "client_id": "nobody"}, headers=as_[w.SYSTEM]
    )
    assert missing.status_code == 404


def test_an_organisation_service_account_files_for_its_organisation(
    client: TestClient, world: w.World
) -> None:
    w.service_account(world.domain, "org-bot", scopes=["org:admin"], owner=world.organisation_id)
    bot = w.bearer(w.service_token(client, "org-bot", "org:admin"))
    filed = client.post("/admin/v1/seal-applications", json={"type": "invoice"}, headers=bot)
    assert filed.status_code == 201 and filed.json()["applicant"] == "client:org-bot"
    listed = seal_applications.inbox(world.admin, world.actor(w.SECURITY))["items"]
    assert [a["id"] for a in listed] == [filed.json()["id"]]


def test_acts_need_if_match(client: TestClient, world: w.World) -> None:
    own = sw.make_seal(world)
    token = w.bearer(w.person_token(client, w.SECURITY, scope="openid admin:security"))
    missing = client.post(f"/admin/v1/seals/{own}/suspend", headers=token)
    assert missing.status_code == 428
    assert missing.json()["type"] == "urn:tongxing:problem:precondition-required"
    etag = client.get(f"/admin/v1/seals/{own}", headers=token).headers["etag"]
    done = client.post(f"/admin/v1/seals/{own}/suspend", headers={**token, "if-match": etag})
    assert done.status_code == 200
    stale = client.post(f"/admin/v1/seals/{own}/resume", headers={**token, "if-match": etag})
    assert stale.status_code == 412
