"""Operators and people's factors: the security administrator enrols an authenticator app for
a person (the otpauth:// URI once: in the act's answer, the API's no-store response, the
CLI's stderr, the console's answer page) and removes every factor after an in-person check;
everyone else, and anyone for themselves, is refused and the refusal recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import factors
from admin.errors import Forbidden, Invalid
from audit.models import AuditEntry
from idp import recovery_codes, totp
from idp.models import Authenticator
from tests import oidc
from tests.admin import console
from tests.admin import world as w
from tests.conftest import strong_secret
from tests.in_process import tongxing


def _secret(uri: str) -> bytes:
    import base64

    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    value = parse_qs(parts.query)["secret"][0]
    return base64.b32decode(value + "=" * (-len(value) % 8))


def _entries(domain: Any, type_: str) -> list[dict[str, Any]]:
    with domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return [json.loads(e.leaf) for e in session.scalars(query)]


def _count(domain: Any, user_id: str) -> int:
    with domain.keys.database.reading() as session:
        return len(
            list(session.scalars(select(Authenticator).where(Authenticator.user_id == user_id)))
        )


def _works(domain: Any, user_id: str, secret: bytes) -> bool:
    code = totp.code_at(secret, totp.step_of(time.time()))
    with domain.keys.database.transaction() as session:
        used = totp.verify(session, data_keys=domain.data_keys, user_id=user_id, code=code)
        return used is not None


def test_enrol_and_reset_rules(domain: Any) -> None:
    world = w.build(domain)
    plain = world.actor(w.NOBODY).id
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN, w.NOBODY):
        with pytest.raises(Forbidden):
            factors.enrol_totp(world.admin, world.actor(login), ref=w.NOBODY)
        with pytest.raises(Forbidden):
            factors.reset_factors(world.admin, world.actor(login), ref=w.NOBODY, reason="x")
    with pytest.raises(Forbidden, match="yourself"):
        factors.enrol_totp(world.admin, world.actor(w.SECURITY), ref=w.SECURITY)
    with pytest.raises(Forbidden, match="yourself"):
        factors.reset_factors(world.admin, world.actor(w.SECURITY), ref=w.SECURITY, reason="x")
    refused = [e["actor"] for e in _entries(domain, "admin.refused")]
    assert refused.count(f"person:{w.SECURITY}") == 2 and f"person:{w.SYSTEM}" in refused
    assert _count(domain, plain) == 0

    done = factors.enrol_totp(world.admin, world.actor(w.SECURITY), ref=w.NOBODY)
    secret = _secret(done["uri"])
    assert done["person"]["username"] == w.NOBODY and "issuer=Tongxing" in done["uri"]
    assert _works(domain, plain, secret)
    [entry] = _entries(domain, "factor.enrolled")[-1:]
    assert entry["actor"] == f"person:{w.SECURITY}" and entry["subject"] == plain
    assert entry["details"]["confirmed"] is False
    assert parse_qs(urlsplit(done["uri"]).query)["secret"][0] not in json.dumps(entry)

    with domain.keys.database.transaction() as session:
        recovery_codes.generate(
            session, data_keys=domain.data_keys, events=domain.audit, user_id=plain, actor=plain
        )
    with pytest.raises(Invalid):
        factors.reset_factors(world.admin, world.actor(w.SECURITY), ref=w.NOBODY, reason="  ")
    reset = factors.reset_factors(
        world.admin, world.actor(w.SECURITY), ref=w.NOBODY, reason="ID card checked at counter 3"
    )
    assert reset["removed"] == {"authenticators": 1, "recovery_codes": 10}
    assert _count(domain, plain) == 0
    [entry] = _entries(domain, "factors.reset")
    assert entry["actor"] == f"person:{w.SECURITY}"
    assert entry["details"]["reason"] == "ID card checked at counter 3"
    # Every platform role reads the list; never a secret in it.
    factors.enrol_totp(world.admin, world.actor(w.SECURITY), ref=w.NOBODY, name="counter")
    listed = factors.list_factors(world.admin, world.actor(w.AUDIT), ref=w.NOBODY)
    assert [(f["kind"], f["name"]) for f in listed] == [("totp", "counter")]
    assert set(listed[0]) == {"id", "kind", "name", "created_at", "last_used_at"}
    with pytest.raises(Forbidden):
        factors.list_factors(world.admin, world.actor(w.NOBODY), ref=w.NOBODY)


def test_the_api(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    world = w.build(domain)
    w.add_console(domain)
    plain = world.actor(w.NOBODY).id
    system = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    refused = client.post(f"/admin/v1/people/{w.NOBODY}/totp", headers=w.bearer(system))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    security = w.person_token(client, w.SECURITY, scope="openid admin:security")
    made = client.post(
        f"/admin/v1/people/{plain}/totp", headers=w.bearer(security), json={"name": "phone"}
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    assert _works(domain, plain, _secret(made.json()["uri"]))
    own = client.post(f"/admin/v1/people/{w.SECURITY}/totp", headers=w.bearer(security))
    assert own.status_code == 403
    listed = client.get(f"/admin/v1/people/{plain}/factors", headers=w.bearer(system))
    assert [f["name"] for f in listed.json()["items"]] == ["phone"]
    assert "secret" not in listed.text
    no_reason = client.post(
        f"/admin/v1/people/{plain}/factors/reset", headers=w.bearer(security), json={}
    )
    assert no_reason.status_code == 422
    reset = client.post(
        f"/admin/v1/people/{plain}/factors/reset",
        headers=w.bearer(security),
        json={"reason": "in person, passport"},
    )
    assert reset.status_code == 200 and reset.json()["removed"]["authenticators"] == 1
    assert reset.json()["signed_out"] == {"grants_ended": 0, "sessions_ended": 0}
    assert _count(domain, plain) == 0


def test_the_console(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    world = w.build(domain)
    plain = world.actor(w.NOBODY).id
    security = console.sign_in(client, w.SECURITY)
    page = security.get(f"/admin/people/{plain}").text
    assert 'id="person-no-factors"' in page
    form = console.hidden(page, f"/admin/people/{plain}/factors/totp")
    assert security.post(f"/admin/people/{plain}/factors/totp", data={}).status_code == 403
    shown = security.post(f"/admin/people/{plain}/factors/totp", data=form)
    assert shown.status_code == 201
    assert 'src="data:image/svg+xml' in shown.text and "otpauth://totp/" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    uri = shown.text.split('id="totp-uri">')[1].split("<")[0].replace("&amp;", "&")
    assert _works(domain, plain, _secret(uri))
    after = security.get(f"/admin/people/{plain}").text
    assert "otpauth://" not in after and 'id="person-factors"' in after
    # Not on the security administrator's own page.
    own = security.get(f"/admin/people/{world.actor(w.SECURITY).id}").text
    assert f"/admin/people/{world.actor(w.SECURITY).id}/factors/totp" not in own
    # The system administrator sees the list but has no form, and is refused.
    system = console.sign_in(client, w.SYSTEM)
    page = system.get(f"/admin/people/{plain}?lang=en").text
    assert "Second sign-in methods" in page and "/factors/totp" not in page
    token = console.form_token(system, "factors")
    refused = system.post(f"/admin/people/{plain}/factors/totp", data={"csrf_token": token})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    reset = console.hidden(after, f"/admin/people/{plain}/factors/reset")
    done = security.post(
        f"/admin/people/{plain}/factors/reset",
        data={**reset, "reason": "checked in person"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _count(domain, plain) == 0


def _env(data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(exist_ok=True)
    return {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(data_dir),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }


def test_the_cli(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    w.appoint_with_cli(env)
    made = tongxing("users", "create", "--username", "plain", "--as", w.SYSTEM, env=env)
    assert made.returncode == 0, made.stderr
    refused = tongxing("users", "enrol-totp", "--user", "plain", "--as", w.SYSTEM, env=env)
    assert refused.returncode != 0 and "security administrator" in refused.stderr
    assert "otpauth" not in refused.stdout + refused.stderr
    made = tongxing("users", "enrol-totp", "--user", "plain", "--as", w.SECURITY, env=env)
    assert made.returncode == 0, made.stderr
    assert "otpauth://totp/" in made.stderr and "otpauth" not in made.stdout
    assert len(made.stdout.strip()) == 32  # the authenticator's id
    own = tongxing("users", "enrol-totp", "--user", w.SECURITY, "--as", w.SECURITY, env=env)
    assert own.returncode != 0 and "yourself" in own.stderr
    reset = tongxing(
        "users",
        "reset-factors",
        "--user",
        "plain",
        "--reason",
        "checked in person",
        "--as",
        w.SECURITY,
        env=env,
    )
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.strip() == (
        "removed 1 authenticators and 0 recovery codes; 0 grants revoked, 0 sessions ended"
    )
    assert "TONGXING_REDIS_URL" in reset.stderr  # this command cannot reach the sessions
