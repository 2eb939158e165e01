"""Administrators and identity proofing: level 4 recorded at a counter (system administrator,
not for oneself), a level lowered (security administrator), the clear identity number shown
only with a reason and audited — through the API, the console and the CLI; a client's
minimum level (``min_acr``) registered and enforced; RFC 9470's challenge for a token too
weak to act as an administrator."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import people, proofing
from audit.models import AuditEntry
from idp import assurance, grants
from idp import repository as idp_repository
from idp.protocol import token_response
from tests import oidc
from tests.admin import console
from tests.admin import world as w
from tests.conftest import strong_secret
from tests.idp import sms_world
from tests.in_process import tongxing

NUMBER = "350102200001012463"
MASKED = "350***********2463"
API = "/admin/v1"


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain)
    w.add_console(domain)
    return built


def _events(world: w.World, type_: str) -> list[tuple[str, dict[str, Any]]]:
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return [(e.actor, json.loads(bytes(e.leaf))["details"]) for e in session.scalars(query)]


def _leaves(world: w.World) -> bytes:
    with world.domain.keys.database.reading() as session:
        return b"".join(bytes(e.leaf) for e in session.scalars(select(AuditEntry)))


def _etag(client: TestClient, token: str, ref: str) -> str:
    read = client.get(f"{API}/people/{ref}", headers=w.bearer(token))
    assert read.status_code == 200, read.text
    return read.headers["etag"]


def test_in_person_checks_and_lowered_levels_over_the_api(
    client: TestClient, world: w.World
) -> None:
    system = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    security = w.person_token(client, w.SECURITY, scope="openid admin:security")
    url = f"{API}/people/{w.NOBODY}/proofing"
    body = {"level": 4, "note": "居民身份证原件，窗口 3"}
    assert client.post(url, json=body, headers=w.bearer(system)).status_code == 428
    tag = _etag(client, system, w.NOBODY)
    refused = client.post(url, json=body, headers={**w.bearer(security), "if-match": tag})
    assert refused.status_code == 403
    no_number = client.post(url, json=body, headers={**w.bearer(system), "if-match": tag})
    assert no_number.status_code == 422 and "identity number" in no_number.json()["detail"]
    recorded = client.post(
        url, json={**body, "national_id": NUMBER}, headers={**w.bearer(system), "if-match": tag}
    )
    assert recorded.status_code == 200, recorded.text
    view = recorded.json()
    assert (view["proofing_level"], view["proofing_method"]) == (4, "counter")
    assert view["proofed_at"] and view["national_id"] == MASKED
    stale = client.post(url, json=body, headers={**w.bearer(system), "if-match": tag})
    assert stale.status_code == 412
    own = client.post(
        f"{API}/people/{w.SYSTEM}/proofing",
        json=body,
        headers={**w.bearer(system), "if-match": _etag(client, system, w.SYSTEM)},
    )
    assert own.status_code == 422 and "their own" in own.json()["detail"]

    tag = recorded.headers["etag"]
    lower = {"level": 2, "note": "证件疑似冒用"}
    by_system = client.post(url, json=lower, headers={**w.bearer(system), "if-match": tag})
    assert by_system.status_code == 403
    lowered = client.post(url, json=lower, headers={**w.bearer(security), "if-match": tag})
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["proofing_level"], lowered.json()["proofing_method"]) == (
        2,
        "authority",
    )
    up = client.post(
        url,
        json={"level": 3, "note": "x1"},
        headers={**w.bearer(security), "if-match": lowered.headers["etag"]},
    )
    assert up.status_code == 422  # 2 and 3 come from the person's own checks

    [(actor, details)] = _events(world, "person.proofing_recorded")
    assert actor == f"person:{w.SYSTEM}"
    assert details["note"] == body["note"] and details["national_id"] == MASKED
    assert (details["level_before"], details["level"]) == (2, 4)  # add_person: level 2
    [(actor, details)] = _events(world, "person.proofing_lowered")
    assert actor == f"person:{w.SECURITY}" and details["reason"] == lower["note"]
    refused_acts = [d["detail"] for _, d in _events(world, "admin.refused")]
    assert len(refused_acts) == 2
    assert NUMBER.encode() not in _leaves(world)


def test_the_clear_identity_number_is_shown_with_a_reason_and_audited(
    client: TestClient, world: w.World
) -> None:
    people.create(world.admin, world.actor(w.SYSTEM), username="lisi", national_id=NUMBER)
    assert people.get(world.admin, world.actor(w.AUDIT), ref="lisi")["national_id"] == MASKED
    security = w.person_token(client, w.SECURITY, scope="openid admin:security")
    auditor = w.person_token(client, w.AUDIT, scope="openid admin:audit")
    url = f"{API}/people/lisi/national-id"
    assert client.get(url, headers=w.bearer(security)).status_code == 422  # no reason
    shown = client.get(url, params={"reason": "核对冒用投诉 #1207"}, headers=w.bearer(security))
    assert shown.status_code == 200, shown.text
    assert shown.json()["national_id"] == NUMBER
    assert shown.headers["cache-control"] == "no-store"
    denied = client.get(url, params={"reason": "curious"}, headers=w.bearer(auditor))
    assert denied.status_code == 403
    none = client.get(
        f"{API}/people/{w.NOBODY}/national-id", params={"reason": "x1"}, headers=w.bearer(security)
    )
    assert none.status_code == 404
    [(actor, details)] = _events(world, "person.national_id_revealed")
    assert actor == f"person:{w.SECURITY}"
    assert details == {"username": "lisi", "reason": "核对冒用投诉 #1207", "national_id": MASKED}
    assert NUMBER.encode() not in _leaves(world)


def test_a_token_weaker_than_level_3_gets_the_rfc_9470_challenge(
    client: TestClient, world: w.World
) -> None:
    system = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    claims = oidc.jwt_claims(system)
    assert claims["acr"] == "urn:tongxing:loa:3"  # password + TOTP, proofed in person
    assert client.get(f"{API}/people", headers=w.bearer(system)).status_code == 200
    # The person's identity is put in doubt after the token was issued: its grant asserts
    # level 3, above the new level, so it is revoked and the token acts no more.
    proofing.lower_level(
        world.admin,
        world.actor(w.SECURITY),
        ref=w.SYSTEM,
        level=2,
        reason="identity in doubt",
        if_match=None,
    )
    revoked = client.get(f"{API}/people", headers=w.bearer(system))
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]
    # A token at level 2 (a grant made at that level) is refused with RFC 9470's challenge.
    weak = client.get(f"{API}/people", headers=w.bearer(_token_at_level_2(client, w.SYSTEM)))
    assert weak.status_code == 401
    challenge = weak.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_user_authentication"' in challenge
    assert 'acr_values="urn:tongxing:loa:3"' in challenge
    assert "error_description=" in challenge
    assert weak.json()["type"].endswith(":insufficient-user-authentication")
    # Service accounts have no sign-in behind them: exempt.
    w.service_account(world.domain, "ops-bot", scopes=["admin:system"])
    bot = w.service_token(client, "ops-bot", "admin:system")
    assert client.get(f"{API}/people", headers=w.bearer(bot)).status_code == 200
    # Signing in again cannot reach level 3 now: the IdP says so (not a weaker token).
    browser = TestClient(client.app, base_url=str(client.base_url))
    request = oidc.Request(client_id=w.CONSOLE, scope="openid admin:system")
    callback = oidc.sign_in(browser, request, login=w.SYSTEM)
    assert callback["error"] == "unmet_authentication_requirements"


def _token_at_level_2(client: TestClient, login: str) -> str:
    """An access token of ``login`` for the console client from a grant made at level 2
    (the authorization endpoint gives administrator scopes only at level 3)."""
    idp = sms_world.idp_of(client)
    with idp.database.transaction() as session:
        user = idp_repository.user_by_login(session, login)
        client_row = idp_repository.client(session, w.CONSOLE)
        assert user is not None and client_row is not None
        grant = grants.create(
            session,
            grant_id=secrets.token_hex(16),
            client_id=w.CONSOLE,
            user_id=user.id,
            sid="",
            scopes=["openid", "admin:system"],
            context={"auth_time": int(time.time()), "acr": assurance.acr(2), "amr": ["pwd"]},
        )
        body = token_response.issue(
            session,
            idp=idp,
            client=client_row,
            user=user,
            grant=grant,
            scopes=["openid", "admin:system"],
            nonce=None,
            with_refresh_token=False,
        )
    token: str = body["access_token"]
    return token


def test_the_console_records_lowers_and_reveals(client: TestClient, world: w.World) -> None:
    plain = world.actor(w.NOBODY).id
    page_url = f"/admin/people/{plain}"
    system = console.sign_in(client, w.SYSTEM)
    page = system.get(page_url, headers={"accept-language": "en"}).text
    assert "L2 · confirmed by the authority" in page and 'id="proofing-in-person"' in page
    assert 'id="reveal-national-id"' not in page  # nothing to reveal yet
    form = console.hidden(page, f"{page_url}/proofing")
    done = system.post(
        f"{page_url}/proofing",
        data={**form, "note": "passport, counter 2", "national_id": NUMBER},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:500]
    page = system.get(page_url, headers={"accept-language": "zh-CN"}).text
    assert "L4 · 现场核验" in page and MASKED in page and NUMBER not in page
    assert 'id="proofing-in-person"' not in page
    reveal = console.hidden(page, f"{page_url}/national-id")
    assert system.post(f"{page_url}/national-id", data=reveal).status_code == 422  # no reason
    shown = system.post(f"{page_url}/national-id", data={**reveal, "reason": "回访核对"})
    assert shown.status_code == 200 and f'id="national-id-revealed">{NUMBER}<' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert system.post(f"{page_url}/national-id", data={"reason": "x1"}).status_code == 403

    security = console.sign_in(client, w.SECURITY)
    page = security.get(page_url).text
    lower = console.hidden(page, f"{page_url}/proofing")
    lowered = security.post(
        f"{page_url}/proofing",
        data={**lower, "level": "1", "note": "冒用嫌疑"},
        follow_redirects=False,
    )
    assert lowered.status_code == 303
    assert "L1 · 自报" in security.get(page_url).text
    assert [a for a, _ in _events(world, "person.national_id_revealed")] == [f"person:{w.SYSTEM}"]
    assert [a for a, _ in _events(world, "person.proofing_lowered")] == [f"person:{w.SECURITY}"]

    # The system administrator's level is lowered: their console session is sent to sign in
    # again (where step-up or the IdP's refusal happens), not shown an error.
    proofing.lower_level(
        world.admin, world.actor(w.SECURITY), ref=w.SYSTEM, level=2, reason="doubt", if_match=None
    )
    again = system.get("/admin/people", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/admin/login")


def test_a_clients_minimum_level_over_the_api_and_console_is_enforced(
    client: TestClient, world: w.World
) -> None:
    system = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    headers = w.bearer(system)
    body = {
        "client_id": "housing",
        "grant_types": ["authorization_code"],
        "scopes": ["openid", "profile"],
        "redirect_uris": [oidc.REDIRECT],
        "min_acr": "urn:tongxing:loa:3",
    }
    bad = client.post(
        f"{API}/clients", json={**body, "min_acr": "urn:tongxing:loa:9"}, headers=headers
    )
    assert bad.status_code == 422 and "min_acr" in bad.json()["detail"]
    made = client.post(f"{API}/clients", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["min_acr"] == "urn:tongxing:loa:3"

    # A person proofed at level 2 cannot reach the client's minimum: the specified error.
    oidc.add_person(world.domain, "zhangsan", proofing_level=2, second_factor=True)
    browser = TestClient(client.app, base_url=str(client.base_url))
    callback = oidc.sign_in(browser, oidc.Request(client_id="housing", scope="openid"))
    assert callback["error"] == "unmet_authentication_requirements"

    cleared = client.patch(
        f"{API}/clients/housing",
        json={"min_acr": None},
        headers={**headers, "if-match": made.headers["etag"]},
    )
    assert cleared.status_code == 200 and cleared.json()["min_acr"] is None
    wrong = client.patch(
        f"{API}/clients/housing",
        json={"min_acr": "loa3"},
        headers={**headers, "if-match": cleared.headers["etag"]},
    )
    assert wrong.status_code == 422

    page = console.sign_in(client, w.SYSTEM)
    listing = page.get("/admin/clients").text
    assert 'id="client-min-acr"' in listing
    detail = page.get("/admin/clients/housing").text
    form = console.hidden(detail, "/admin/clients/housing/edit")
    edited = page.post(
        "/admin/clients/housing/edit",
        data={
            **form,
            "name": "Housing",
            "redirect_uris": oidc.REDIRECT,
            "min_acr": "urn:tongxing:loa:2",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text[:500]
    shown = page.get("/admin/clients/housing").text
    assert '<dd id="client-min-acr"><code>urn:tongxing:loa:2</code></dd>' in shown
    register = console.hidden(listing, "/admin/clients")
    registered = page.post(
        "/admin/clients",
        data={
            **register,
            "client_id": "permits2",
            "kind": "web",
            "scopes": "openid",
            "redirect_uris": oidc.REDIRECT,
            "min_acr": "urn:tongxing:loa:4",
        },
    )
    assert registered.status_code == 200, registered.text[:500]
    assert client.get(f"{API}/clients/permits2", headers=headers).json()["min_acr"] == (
        "urn:tongxing:loa:4"
    )


def test_the_cli_records_lowers_reveals_and_sets_a_minimum(tmp_path: Path) -> None:
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    w.appoint_with_cli(env)
    made = tongxing("users", "create", "--username", "wangwu", "--as", "sys", env=env)
    assert made.returncode == 0, made.stderr

    needs_as = tongxing(
        "users", "proof", "--user", "wangwu", "--in-person", "--note", "card", env=env
    )
    assert needs_as.returncode != 0 and "--as" in needs_as.stderr
    refused = tongxing(
        "users", "proof", "--user", "wangwu", "--in-person", "--note", "card", "--as", "sec",
        env=env, stdin=NUMBER + "\n",
    )  # fmt: skip
    assert refused.returncode != 0
    recorded = tongxing(
        "users", "proof", "--user", "wangwu", "--in-person", "--note", "居民身份证",
        "--national-id-stdin", "--as", "sys", env=env, stdin=NUMBER + "\n",
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.strip() == "wangwu L4 (counter)"
    listing = tongxing("users", "list", "--as", "sys", env=env).stdout
    assert any(line.startswith("wangwu") and " L4 " in line for line in listing.splitlines())
    lowered = tongxing(
        "users", "proof", "--user", "wangwu", "--lower-to", "2", "--note", "doubt",
        "--as", "sec", env=env,
    )  # fmt: skip
    assert lowered.returncode == 0 and lowered.stdout.strip() == "wangwu L2 (authority)"
    shown = tongxing(
        "users", "reveal-national-id", "wangwu", "--reason", "核对", "--as", "sec", env=env
    )
    assert shown.returncode == 0 and shown.stderr.strip() == NUMBER and NUMBER not in shown.stdout

    created = tongxing(
        "clients", "create", "--client-id", "housing", "--grant-type", "authorization_code",
        "--scope", "openid", "--redirect-uri", oidc.REDIRECT, "--min-acr", "urn:tongxing:loa:3",
        "--as", "sys", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    rows = json.loads(tongxing("clients", "list", "--json", "--as", "sys", env=env).stdout)
    assert [r["min_acr"] for r in rows if r["client_id"] == "housing"] == ["urn:tongxing:loa:3"]
    bad = tongxing(
        "clients", "set-min-acr", "housing", "urn:tongxing:loa:7", "--as", "sys", env=env
    )
    assert bad.returncode != 0 and "min_acr" in bad.stderr
    cleared = tongxing("clients", "set-min-acr", "housing", "none", "--as", "sys", env=env)
    assert cleared.returncode == 0 and cleared.stdout.strip() == "none"
