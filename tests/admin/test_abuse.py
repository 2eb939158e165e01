"""Attempts found in review, each refused: revoked tokens, machines deciding, times with
offsets, forged cursors, third-party apps asking for administrator scopes, and two
withdrawals racing for a role's last holder."""

from __future__ import annotations

import base64
import contextlib
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from admin import appointments, seal_applications
from idp import grants as idp_grants
from idp import repository
from idp.clients import ClientError
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


def test_a_token_of_a_revoked_sign_in_acts_no_more(client: TestClient, world: w.World) -> None:
    token = w.person_token(client, w.SECURITY, scope="openid admin:security")
    assert client.get("/admin/v1/seals", headers=w.bearer(token)).status_code == 200
    with world.domain.keys.database.transaction() as session:
        assert idp_grants.revoke(session, oidc.jwt_claims(token)["gid"], reason="logout")
    assert client.get("/userinfo", headers=w.bearer(token)).status_code == 401
    assert client.get("/admin/v1/seals", headers=w.bearer(token)).status_code == 401


def test_a_service_account_decides_nothing(client: TestClient, world: w.World) -> None:
    w.service_account(world.domain, "sec-bot", scopes=["admin:security"])
    bot = w.bearer(w.service_token(client, "sec-bot", "admin:security"))
    filed = seal_applications.apply(
        world.admin, world.actor(w.ORG_ADMIN), organisation=oidc.USCC, seal_type="contract"
    )
    etag = client.get(f"/admin/v1/seal-applications/{filed['id']}", headers=bot).headers["etag"]
    refused = client.post(
        f"/admin/v1/seal-applications/{filed['id']}/approve",
        headers={**bot, "if-match": etag},
    )
    assert refused.status_code == 403, refused.text


def test_a_machine_cannot_approve_its_own_use_of_a_seal(client: TestClient, world: w.World) -> None:
    seal_id = sw.make_seal(world)
    w.service_account(
        world.domain, "selfbot", scopes=["seal:sign", "org:admin"], owner=world.organisation_id
    )
    bot = w.bearer(w.service_token(client, "selfbot", "org:admin"))
    asked = client.post(
        "/admin/v1/grants", json={"seal_id": seal_id, "client_id": "selfbot"}, headers=bot
    )
    assert asked.status_code == 201, asked.text
    approved = client.post(
        f"/admin/v1/grants/{asked.json()['id']}/approve",
        headers={**bot, "if-match": asked.headers["etag"]},
    )
    assert approved.status_code == 403
    sign = w.bearer(w.service_token(client, "selfbot", "seal:sign"))
    sealed = client.post(
        "/seal/v1/sign",
        headers=sign,
        files={"file": ("p.pdf", sample_permit(), "application/pdf")},
        data={"seal_id": seal_id, "anchor": "（盖章）"},
    )
    assert sealed.status_code == 403, sealed.text


def test_grant_end_times_are_stored_in_utc_and_bounded(client: TestClient, world: w.World) -> None:
    seal_id = sw.make_seal(world)
    token = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    asked = client.post(
        "/admin/v1/grants",
        json={"seal_id": seal_id, "client_id": sw.CERTSYS, "until": "2030-01-01T00:00:00+08:00"},
        headers=token,
    )
    assert asked.status_code == 201, asked.text
    read = client.get(f"/admin/v1/grants/{asked.json()['id']}", headers=token)
    assert read.json()["until"] == "2029-12-31T16:00:00+00:00"
    assert read.headers["etag"] == asked.headers["etag"]
    far = client.post(
        "/admin/v1/grants",
        json={"seal_id": seal_id, "client_id": sw.CERTSYS, "until": "9999-12-31T23:59:59-14:00"},
        headers=token,
    )
    assert far.status_code == 422
    assert client.get("/admin/v1/grants", headers=token).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        "99999999999999999999|2024-01-01T00:00:00+00:00|x",
        "0|0001-01-01T00:00:00+14:00|x",
        "0|9999-12-31T23:59:59-14:00|x",
        "1|2024-01-01T00:00:00+00:00|" + "x" * 500,
    ],
)
def test_forged_cursors_are_refused(client: TestClient, world: w.World, raw: str) -> None:
    token = w.bearer(w.person_token(client, w.AUDIT, scope="openid admin:audit"))
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    for path in ("/admin/v1/seals", "/admin/v1/grants", "/admin/v1/seal-applications"):
        answer = client.get(path, params={"cursor": cursor}, headers=token)
        assert answer.status_code in (200, 422), (path, answer.status_code)


def test_only_the_console_signs_people_in_with_administrator_scopes(
    client: TestClient, world: w.World
) -> None:
    with pytest.raises(ClientError, match="console"):
        oidc.add_rp(world.domain, "third-party", scopes=("openid", "admin:audit"))
    # Not even a first-party app registered by an administrator (it would relay the role of
    # whoever signs in to the redirect URIs its registrant chose).
    with pytest.raises(ClientError, match="console"):
        oidc.add_rp(
            world.domain, "first-party", scopes=("openid", "admin:security"), first_party=True
        )


def test_two_withdrawals_at_once_leave_a_holder(
    world: w.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = world.admin
    change = appointments.request_change(
        admin, world.actor(w.SYSTEM), action="grant", login=w.NOBODY, role="system-admin"
    )
    appointments.decide_change(admin, world.actor(w.SECURITY), change_id=change["id"], confirm=True)
    one = appointments.request_change(
        admin, world.actor(w.SYSTEM), action="withdraw", login=w.SYSTEM, role="system-admin"
    )
    two = appointments.request_change(
        admin, world.actor(w.SYSTEM), action="withdraw", login=w.NOBODY, role="system-admin"
    )
    # Both confirmations count the holders at the same moment unless the count is locked.
    barrier = threading.Barrier(2, timeout=3)
    counted = appointments._active_holders

    def together(session: Any, role: str) -> Any:
        found = counted(session, role)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return found

    monkeypatch.setattr(appointments, "_active_holders", together)
    outcomes: dict[str, str] = {}

    def confirm(name: str, login: str, change_id: str) -> None:
        try:
            outcomes[name] = appointments.decide_change(
                admin, world.actor(login), change_id=change_id, confirm=True
            )["status"]
        except Exception as exc:
            outcomes[name] = type(exc).__name__

    threads = [
        threading.Thread(target=confirm, args=("one", w.SECURITY, one["id"])),
        threading.Thread(target=confirm, args=("two", w.AUDIT, two["id"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with world.domain.keys.database.reading() as session:
        left = repository.platform_role_holders(session, "system-admin")
    assert len(left) == 1, outcomes
    assert sorted(outcomes.values()) == ["Conflict", "done"]


def test_a_service_account_in_another_role_is_made_by_that_role(
    client: TestClient, world: w.World
) -> None:
    from admin import clients
    from admin.errors import Forbidden

    with pytest.raises(Forbidden):
        clients.create(
            world.admin,
            world.actor(w.SYSTEM),
            client_id="sec-bot",
            grant_types=["client_credentials"],
            scopes=["admin:security"],
        )
    view, secret = clients.create(
        world.admin,
        world.actor(w.SECURITY),
        client_id="sec-bot",
        grant_types=["client_credentials"],
        scopes=["admin:security"],
    )
    assert view["client_id"] == "sec-bot" and secret
    # ... and only that role gives it a new secret.
    with pytest.raises(Forbidden):
        clients.new_secret(world.admin, world.actor(w.SYSTEM), client_id="sec-bot")
    clients.create(
        world.admin,
        world.actor(w.SYSTEM),
        client_id="sys-bot",
        grant_types=["client_credentials"],
        scopes=["admin:system"],
    )


def test_the_console_is_kept_by_the_server(client: TestClient, world: w.World) -> None:
    from admin import clients
    from admin.errors import Conflict

    with pytest.raises(Conflict, match="console"):
        clients.update(
            world.admin,
            world.actor(w.SYSTEM),
            client_id=w.CONSOLE,
            if_match=None,
            changes={"redirect_uris": ["https://evil.example/cb"]},
        )
    with pytest.raises(Conflict, match="console"):
        clients.new_secret(world.admin, world.actor(w.SYSTEM), client_id=w.CONSOLE)


def test_only_the_security_administrator_lifts_a_lock(client: TestClient, world: w.World) -> None:
    from admin import people
    from admin.errors import Forbidden

    people.lock(world.admin, world.actor(w.SECURITY), ref=w.NOBODY, locked=True, reason="fraud")
    with pytest.raises(Forbidden, match="locked"):
        people.update(
            world.admin,
            world.actor(w.SYSTEM),
            ref=w.NOBODY,
            if_match=None,
            changes={"disabled": False},
        )
    unlocked = people.lock(world.admin, world.actor(w.SECURITY), ref=w.NOBODY, locked=False)
    assert unlocked["disabled"] is False and unlocked["locked"] is False


def test_nobody_makes_themselves_an_organisation_administrator(
    client: TestClient, world: w.World
) -> None:
    from admin import organisations
    from admin.errors import Forbidden

    with pytest.raises(Forbidden, match="themselves"):
        organisations.set_member(
            world.admin, world.actor(w.SYSTEM), ref=oidc.USCC, person=w.SYSTEM, role="admin"
        )


def test_whoever_asked_for_a_grant_does_not_approve_it(client: TestClient, world: w.World) -> None:
    from admin import grants
    from admin.errors import SecondPersonNeeded

    seal_id = sw.make_seal(world)
    asked = grants.request(
        world.admin, world.actor(w.ORG_ADMIN), seal_id=seal_id, client_id=sw.CERTSYS
    )
    with pytest.raises(SecondPersonNeeded):
        grants.approve(world.admin, world.actor(w.ORG_ADMIN), grant_id=asked["id"])
