"""``/admin/v1/people``, ``/organisations`` and ``/clients`` over HTTP: every endpoint with
every role (allowed, 403 and recorded, 401 without a token), versions, one-time secrets."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from audit.models import AuditEntry
from idp import account_deletion
from tests import oidc
from tests.admin import world as w

DEMO_USCC = "11350100MB0020003P"  # a valid code no other organisation here uses


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain)
    w.add_console(domain)
    oidc.add_person(domain, "outsider")
    oidc.add_organisation(domain, member="outsider", uscc=oidc.OTHER_USCC, name="另一家公司")
    oidc.add_rp(domain, "permits")
    w.service_account(domain, "owned-bot", scopes=["seal:sign"], owner=built.organisation_id)
    return built


@dataclass
class Tokens:
    """One admin token per role: ``sys``, ``sec``, ``aud`` and ``org`` (org:admin)."""

    by_role: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str | None, **extra: str) -> dict[str, str]:
        return {**(w.bearer(self.by_role[role]) if role else {}), **extra}


def _tokens(client: TestClient, world: w.World) -> Tokens:
    return Tokens(
        {
            "sys": w.person_token(client, w.SYSTEM, scope="openid admin:system"),
            "sec": w.person_token(client, w.SECURITY, scope="openid admin:security"),
            "aud": w.person_token(client, w.AUDIT, scope="openid admin:audit"),
            "org": w.person_token(
                client, w.ORG_ADMIN, scope="openid org:admin", organisation=world.organisation_id
            ),
        }
    )


def _refusals(client: TestClient) -> int:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        query = select(func.count()).where(AuditEntry.type == "admin.refused")
        return int(session.scalar(query) or 0)


READERS = ("sys", "sec", "aud")
EVERYONE = ("sys", "sec", "aud", "org")
# (method, path, JSON body, roles allowed (in order), roles refused, success status)
Row = tuple[str, str, dict[str, Any] | None, tuple[str, ...], tuple[str, ...], int]
ROWS: list[Row] = [
    ("GET", "/people", None, EVERYONE, (), 200),
    ("GET", "/people?organisation={other}", None, READERS, ("org",), 200),
    ("POST", "/people", {"username": "newbie"}, ("sys",), ("sec", "aud", "org"), 201),
    ("GET", "/people/{plain}", None, READERS, ("org",), 200),
    ("GET", "/people/{orgadm}", None, EVERYONE, (), 200),
    ("PATCH", "/people/{plain}", {"display_name": "普通"}, ("sys",), ("sec", "aud", "org"), 200),
    (
        "POST",
        "/people/{plain}/password",
        {"password": "a long new passphrase"},
        ("sys",),
        ("sec", "aud", "org"),
        200,
    ),
    ("POST", "/people/{plain}/lock", {"reason": "test"}, ("sec",), ("sys", "aud", "org"), 200),
    ("POST", "/people/{plain}/unlock", None, ("sec",), ("sys", "aud", "org"), 200),
    ("GET", "/organisations", None, EVERYONE, (), 200),
    (
        "POST",
        "/organisations",
        {"name": "新单位", "uscc": DEMO_USCC},
        ("sys",),
        ("sec", "aud", "org"),
        201,
    ),
    ("GET", "/organisations/{org}", None, EVERYONE, (), 200),
    ("GET", "/organisations/{other}", None, READERS, ("org",), 200),
    ("PATCH", "/organisations/{org}", {"name": "某某科技"}, ("sys",), ("sec", "aud", "org"), 200),
    ("GET", "/organisations/{org}/members", None, EVERYONE, (), 200),
    ("GET", "/organisations/{other}/members", None, READERS, ("org",), 200),
    (
        "POST",
        "/organisations/{org}/members",
        {"person": "plain"},
        ("org", "sys"),
        ("sec", "aud"),
        200,
    ),
    (
        "POST",
        "/organisations/{other}/members",
        {"person": "plain"},
        ("sys",),
        ("sec", "aud", "org"),
        200,
    ),
    (
        "DELETE",
        "/organisations/{other}/members/{plain}",
        None,
        ("sys",),
        ("sec", "aud", "org"),
        204,
    ),
    ("DELETE", "/organisations/{org}/members/{plain}", None, ("org",), ("sec", "aud"), 204),
    ("GET", "/clients", None, EVERYONE, (), 200),
    (
        "POST",
        "/clients",
        {"client_id": "new-bot", "grant_types": ["client_credentials"], "scopes": ["seal:sign"]},
        ("sys",),
        ("sec", "aud", "org"),
        201,
    ),
    ("GET", "/clients/permits", None, READERS, ("org",), 200),
    ("GET", "/clients/owned-bot", None, EVERYONE, (), 200),
    ("PATCH", "/clients/owned-bot", {"name": "机器人"}, ("sys",), ("sec", "aud", "org"), 200),
    ("POST", "/clients/owned-bot/secret", None, ("sys",), ("sec", "aud", "org"), 200),
]


def test_every_endpoint_with_every_role(client: TestClient, world: w.World) -> None:
    tokens = _tokens(client, world)
    ids = {
        "plain": world.actor(w.NOBODY).id,
        "orgadm": world.actor(w.ORG_ADMIN).id,
        "org": world.organisation_id,
        "other": oidc.OTHER_USCC,
    }
    refused = _refusals(client)
    for method, template, body, allowed, forbidden, status in ROWS:
        path = "/admin/v1" + template.format(**ids)
        extra = {"If-Match": "*"} if method == "PATCH" else {}
        anonymous = client.request(method, path, json=body, headers=extra)
        assert anonymous.status_code == 401, (method, path)
        for role in forbidden:
            answer = client.request(method, path, json=body, headers=tokens.headers(role, **extra))
            assert answer.status_code == 403, (method, path, role, answer.text)
            assert answer.json()["type"] == "urn:tongxing:problem:admin-forbidden"
            refused += 1
            assert _refusals(client) == refused, (method, path, role)
        for role in allowed:
            answer = client.request(method, path, json=body, headers=tokens.headers(role, **extra))
            assert answer.status_code == status, (method, path, role, answer.text)
            if method == "GET" and "?" not in template and template.endswith("}"):
                assert answer.headers["etag"].startswith('"')
    other = client.get(
        f"/admin/v1/people?organisation={oidc.OTHER_USCC}", headers=tokens.headers("aud")
    )
    assert [p["username"] for p in other.json()["items"]] == ["outsider"]
    org_people = client.get("/admin/v1/people", headers=tokens.headers("org")).json()
    assert [p["username"] for p in org_people["items"]] == [w.ORG_ADMIN]


def test_versions_guard_every_update(client: TestClient, world: w.World) -> None:
    token = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    plain = world.actor(w.NOBODY).id
    for path, change in (
        (f"/admin/v1/people/{plain}", {"display_name": "甲"}),
        (f"/admin/v1/organisations/{world.organisation_id}", {"name": "甲公司"}),
        ("/admin/v1/clients/permits", {"name": "甲系统"}),
    ):
        read = client.get(path, headers=token)
        tag = read.headers["etag"]
        assert client.get(path, headers=token).headers["etag"] == tag  # stable across reads
        missing = client.patch(path, json=change, headers=token)
        assert missing.status_code == 428
        assert missing.json()["type"] == "urn:tongxing:problem:precondition-required"
        assert (
            client.patch(path, json=change, headers={**token, "If-Match": 'W/"x"'}).status_code
            == 412
        )
        done = client.patch(path, json=change, headers={**token, "If-Match": tag})
        assert done.status_code == 200, done.text
        assert done.headers["etag"] == client.get(path, headers=token).headers["etag"] != tag
        stale = client.patch(path, json=change, headers={**token, "If-Match": tag})
        assert stale.status_code == 412
        assert stale.json()["type"] == "urn:tongxing:problem:precondition-failed"


def test_two_concurrent_updates_with_one_version(client: TestClient, world: w.World) -> None:
    token = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    path = f"/admin/v1/people/{world.actor(w.NOBODY).id}"
    tag = client.get(path, headers=token).headers["etag"]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def patch(name: str) -> None:
        start.wait()
        answer = client.patch(path, json={"display_name": name}, headers={**token, "If-Match": tag})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]


def test_a_client_secret_is_shown_once(client: TestClient, world: w.World) -> None:
    token = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    created = client.post(
        "/admin/v1/clients",
        json={
            "client_id": "cert-bot",
            "grant_types": ["client_credentials"],
            "scopes": ["seal:sign"],
            "owner_organisation_id": oidc.USCC,
        },
        headers=token,
    )
    assert created.status_code == 201, created.text
    first = created.json()["client_secret"]
    assert created.json()["owner_organisation_id"] == world.organisation_id
    shown = client.get("/admin/v1/clients/cert-bot", headers=token).json()
    listed = client.get("/admin/v1/clients", headers=token).json()["items"]
    assert "client_secret" not in shown and first not in str(listed)

    def works(secret: str) -> bool:
        answer = client.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": "seal:sign"},
            auth=("cert-bot", secret),
        )
        return answer.status_code == 200

    assert works(first)
    renewed = client.post("/admin/v1/clients/cert-bot/secret", headers=token)
    assert renewed.status_code == 200
    second = renewed.json()["client_secret"]
    assert second != first
    # Token requests read a client's registration from a 5-second cache (idp.client_cache).
    deadline = time.monotonic() + 10
    while not (works(second) and not works(first)):
        assert time.monotonic() < deadline, "the new secret did not replace the old one"
        time.sleep(0.5)
    assert "client_secret" not in client.get("/admin/v1/clients/cert-bot", headers=token).json()


def test_cancelling_a_pending_deletion_over_http(client: TestClient, world: w.World) -> None:
    system = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    security = w.bearer(w.person_token(client, w.SECURITY, scope="openid admin:security"))
    plain = world.actor(w.NOBODY).id
    path = f"/admin/v1/people/{plain}/cancel-deletion"
    nothing = client.post(path, headers=system)
    assert nothing.status_code == 409
    assert nothing.headers["content-type"].startswith("application/problem+json")
    assert nothing.json()["type"] == "urn:tongxing:problem:no-deletion-pending"
    with world.domain.keys.database.transaction() as session:
        account_deletion.request(session, events=world.domain.audit, user_id=plain, grace_days=15)
    read = client.get(f"/admin/v1/people/{plain}", headers=system)
    assert read.json()["disabled"] and read.json()["deletion_requested_at"]
    assert client.post(path, headers=security).status_code == 403
    stale = client.post(path, headers={**system, "If-Match": '"stale"'})
    assert stale.status_code == 412
    done = client.post(path, headers={**system, "If-Match": read.headers["etag"]})
    assert done.status_code == 200, done.text
    assert done.json()["disabled"] is False and done.json()["deletion_requested_at"] is None
    assert (
        done.headers["etag"]
        == client.get(f"/admin/v1/people/{plain}", headers=system).headers["etag"]
    )
    # The refusal is declared in the API description.
    declared = client.get("/openapi.json").json()["paths"][
        "/admin/v1/people/{person_id}/cancel-deletion"
    ]["post"]["responses"]
    assert "no-deletion-pending" in declared["409"]["description"]
