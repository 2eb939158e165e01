"""The rules for agent authorisations (经办人授权): the system administrator for any
organisation, an organisation's administrator for their own, nobody for themselves; the
platform roles read them; over the admin API with problem documents and through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from admin import agents
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp.runtime import IdentityProvider
from tests import oidc
from tests.admin import world as w

NOW = datetime.now(UTC)
PERIOD = {"valid_from": NOW - timedelta(minutes=1), "valid_until": NOW + timedelta(days=7)}


@pytest.fixture
def world(domain: Any) -> w.World:
    built = w.build(domain)
    oidc.add_person(domain, "outsider")
    oidc.add_organisation(domain, member="outsider", uscc=oidc.OTHER_USCC, name="另一家公司")
    oidc.add_rp(domain, "permits")
    return built


def _offer(world: w.World, login: str, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ref": world.organisation_id,
        "person": w.NOBODY,
        "scope": "all",
        "apps": [],
        **PERIOD,
        **changes,
    }
    return agents.offer(world.admin, world.actor(login), **arguments)


def _refusals(world: w.World, action: str) -> int:
    with world.domain.keys.database.reading() as session:
        query = select(func.count()).where(
            AuditEntry.type == "admin.refused", AuditEntry.subject == action
        )
        return int(session.scalar(query) or 0)


def test_only_the_system_or_the_organisations_administrator_authorises(world: w.World) -> None:
    for login in (w.SECURITY, w.AUDIT, w.NOBODY, "outsider"):
        with pytest.raises(Forbidden):
            _offer(world, login, person=w.SYSTEM)
    assert _refusals(world, "organisations.authorise_agent") == 4
    by_org_admin = _offer(world, w.ORG_ADMIN)
    by_system = _offer(world, w.SYSTEM, scope="apps", apps=["permits"])
    assert by_org_admin["status"] == by_system["status"] == "offered"
    assert by_system["apps"] == ["permits"] and by_system["current"] is False
    with pytest.raises(Forbidden, match="themselves"):
        _offer(world, w.ORG_ADMIN, person=w.ORG_ADMIN)
    # The outsider administers another organisation, not this one.
    with pytest.raises(Forbidden):
        agents.revoke(
            world.admin,
            world.actor("outsider"),
            ref=world.organisation_id,
            authorisation_id=by_org_admin["id"],
        )
    # Every platform role and the organisation's administrator read them; others do not.
    for login in (w.SYSTEM, w.SECURITY, w.AUDIT, w.ORG_ADMIN):
        listed = agents.list_agents(world.admin, world.actor(login), ref=world.organisation_id)
        assert {a["id"] for a in listed["items"]} == {by_org_admin["id"], by_system["id"]}
    for login in (w.NOBODY, "outsider"):
        with pytest.raises(Forbidden):
            agents.list_agents(world.admin, world.actor(login), ref=world.organisation_id)
    revoked = agents.revoke(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        authorisation_id=by_org_admin["id"],
    )
    assert revoked["status"] == "revoked" and revoked["ended_by"] == f"person:{w.ORG_ADMIN}"
    with pytest.raises(Conflict):
        agents.revoke(
            world.admin,
            world.actor(w.SYSTEM),
            ref=world.organisation_id,
            authorisation_id=by_org_admin["id"],
        )
    with pytest.raises(NotFound):
        agents.revoke(
            world.admin, world.actor(w.SYSTEM), ref=world.organisation_id, authorisation_id="0" * 32
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scope": "apps"}, "at least one app"),
        ({"scope": "apps", "apps": ["nobody-knows"]}, "no app"),
        ({"scope": "all", "apps": ["permits"]}, "lists no apps"),
        ({"valid_until": NOW - timedelta(days=2)}, "end after it starts"),
        ({"valid_from": NOW - timedelta(days=9), "valid_until": NOW - timedelta(days=2)}, "ended"),
        ({"scope": "some"}, "scope must be"),
    ],
)
def test_a_bad_authorisation_is_refused(
    world: w.World, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        _offer(world, w.ORG_ADMIN, **changes)


def test_over_the_admin_api(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    world = w.build(domain, runtime_of(client.app).get(IdentityProvider))
    w.add_console(domain)
    org = w.person_token(
        client, w.ORG_ADMIN, scope="openid org:admin", organisation=world.organisation_id
    )
    auditor = w.person_token(client, w.AUDIT, scope="openid admin:audit")
    path = f"/admin/v1/organisations/{world.organisation_id}/agents"
    body = {
        "person": w.NOBODY,
        "scope": "all",
        "valid_from": PERIOD["valid_from"].isoformat(),
        "valid_until": PERIOD["valid_until"].isoformat(),
    }
    refused = client.post(path, json=body, headers=w.bearer(auditor))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:tongxing:problem:admin-forbidden"
    assert client.post(path, json=body).status_code == 401
    bad = client.post(path, json={**body, "scope": "apps"}, headers=w.bearer(org))
    assert bad.status_code == 422
    assert bad.json()["type"] == "urn:tongxing:problem:invalid-admin-request"
    made = client.post(path, json=body, headers=w.bearer(org))
    assert made.status_code == 201, made.text
    authorisation = made.json()
    assert authorisation["username"] == w.NOBODY and authorisation["status"] == "offered"
    listed = client.get(path, headers=w.bearer(auditor))
    assert [a["id"] for a in listed.json()["items"]] == [authorisation["id"]]
    one = client.get(f"{path}/{authorisation['id']}", headers=w.bearer(auditor))
    assert one.status_code == 200 and one.json() == authorisation
    tag = one.headers["etag"]
    revoke = f"{path}/{authorisation['id']}/revoke"
    refused = client.post(revoke, headers={**w.bearer(auditor), "if-match": tag})
    assert refused.status_code == 403
    missing = client.post(revoke, headers=w.bearer(org))
    assert missing.status_code == 428
    assert missing.json()["type"] == "urn:tongxing:problem:precondition-required"
    done = client.post(revoke, headers={**w.bearer(org), "if-match": tag})
    assert done.status_code == 200 and done.json()["status"] == "revoked"
    stale = client.post(revoke, headers={**w.bearer(org), "if-match": tag})
    assert stale.status_code == 412
    again = client.post(revoke, headers={**w.bearer(org), "if-match": "*"})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:tongxing:problem:admin-conflict"


def test_through_the_cli(tmp_path: Path) -> None:
    """The CLI's commands on the rule book (``--as`` names who acts), on an installation
    without a shared store (the revocation says what it could not reach)."""
    from tests.conftest import strong_secret
    from tests.in_process import tongxing

    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }

    def run(*args: str, stdin: str | None = None) -> Any:
        return tongxing(*args, env=env, stdin=stdin)

    assert run("db", "upgrade").returncode == 0
    assert run("keys", "init").returncode == 0
    for login in ("boss", "agent", "plain"):
        assert run("users", "create", "--username", login).returncode == 0
    assert run("orgs", "create", "--name", "某某科技有限公司", "--uscc", oidc.USCC).returncode == 0
    added = run("orgs", "add-member", "--org", oidc.USCC, "--user", "boss", "--role", "admin")
    assert added.returncode == 0, added.stderr
    made = run(
        "orgs", "authorise-agent", "--org", oidc.USCC, "--user", "agent",
        "--until", (NOW + timedelta(days=3)).date().isoformat(), "--as", "boss",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    authorisation_id = made.stdout.strip().splitlines()[-1]
    refused = run(
        "orgs", "authorise-agent", "--org", oidc.USCC, "--user", "agent", "--as", "plain"
    )  # fmt: skip
    assert refused.returncode != 0 and "administrator" in refused.stderr
    bad = run("orgs", "authorise-agent", "--org", oidc.USCC, "--user", "agent", "--from", "x",
              "--as", "boss")  # fmt: skip
    assert bad.returncode != 0 and "--from" in bad.stderr
    listed = run("orgs", "agents", "--org", oidc.USCC, "--as", "boss", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["id"] == authorisation_id and row["scope"] == "all" and row["status"] == "offered"
    revoked = run("orgs", "revoke-agent", "--org", oidc.USCC, "--id", authorisation_id,
                  "--as", "boss")  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert "TONGXING_REDIS_URL" in revoked.stderr
    again = run("orgs", "revoke-agent", "--org", oidc.USCC, "--id", authorisation_id,
                "--as", "boss")  # fmt: skip
    assert again.returncode != 0 and "revoked already" in again.stderr


def test_a_machine_client_neither_offers_nor_revokes(world: w.World) -> None:
    from admin.actors import Actor

    robot = Actor(
        kind="client",
        id="robot",
        name="robot",
        role=None,
        organisations=frozenset({world.organisation_id}),
    )
    arguments: dict[str, Any] = {"person": w.NOBODY, "scope": "all", "apps": [], **PERIOD}
    with pytest.raises(Forbidden, match="decided by a person"):
        agents.offer(world.admin, robot, ref=world.organisation_id, **arguments)
    offered = _offer(world, w.ORG_ADMIN)
    with pytest.raises(Forbidden, match="decided by a person"):
        agents.revoke(world.admin, robot, ref=world.organisation_id, authorisation_id=offered["id"])
    assert _refusals(world, "organisations.authorise_agent") == 1
    assert _refusals(world, "organisations.revoke_agent") == 1
