"""Token-exchange pairs over the admin API and the CLI: the system administrator allows and
withdraws them, the platform roles read, problem documents otherwise."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from idp.runtime import IdentityProvider
from tests import oidc
from tests.admin import world as w

PATH = "/admin/v1/token-exchange-pairs"


def test_over_the_admin_api(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    w.build(domain, runtime_of(client.app).get(IdentityProvider))
    w.add_console(domain)
    oidc.add_rp(domain, "permits")
    system = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    auditor = w.bearer(w.person_token(client, w.AUDIT, scope="openid admin:audit"))
    body = {"client_id": "permits", "resource": "/seal"}
    refused = client.post(PATH, json=body, headers=auditor)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:tongxing:problem:admin-forbidden"
    bad = client.post(PATH, json={**body, "resource": "/admin"}, headers=system)
    assert bad.status_code == 422
    made = client.post(PATH, json=body, headers=system)
    assert made.status_code == 201, made.text
    assert made.json()["scopes"] == ["seal:sign"]
    assert client.post(PATH, json=body, headers=system).status_code == 422  # once
    oidc.add_rp(domain, "spa", public=True, redirect_uri="https://spa.example/cb")
    public = client.post(PATH, json={**body, "client_id": "spa"}, headers=system)
    assert public.status_code == 422 and "public client" in public.text
    listed = client.get(PATH, headers=auditor)
    assert [p["client_id"] for p in listed.json()["items"]] == ["permits"]
    assert client.delete(f"{PATH}/permits?resource=/seal", headers=auditor).status_code == 403
    assert client.delete(f"{PATH}/permits?resource=/seal", headers=system).status_code == 204
    gone = client.delete(f"{PATH}/permits?resource=/seal", headers=system)
    assert gone.status_code == 404
    assert gone.json()["type"] == "urn:tongxing:problem:not-found"


def test_through_the_cli(tmp_path: Path) -> None:
    from tests.conftest import strong_secret
    from tests.in_process import tongxing

    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    made = tongxing(
        "clients", "create", "--client-id", "permits", "--grant-type", "authorization_code",
        "--scope", "openid", "--redirect-uri", oidc.REDIRECT, env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    allowed = tongxing(
        "clients", "allow-exchange", "--client", "permits", "--resource", "/seal", env=env
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "seal:sign" in allowed.stdout
    refused = tongxing(
        "clients", "allow-exchange", "--client", "permits", "--resource", "/admin", env=env
    )
    assert refused.returncode != 0 and "/seal" in refused.stderr
    public = tongxing(
        "clients", "create", "--client-id", "spa", "--grant-type", "authorization_code",
        "--scope", "openid", "--redirect-uri", oidc.REDIRECT, "--public", env=env,
    )  # fmt: skip
    assert public.returncode == 0, public.stderr
    refused = tongxing(
        "clients", "allow-exchange", "--client", "spa", "--resource", "/seal", env=env
    )
    assert refused.returncode != 0 and "public client" in refused.stderr
    listed = tongxing("clients", "exchanges", "--json", env=env)
    assert json.loads(listed.stdout)[0]["resource"] == "/seal"
    withdrawn = tongxing(
        "clients", "withdraw-exchange", "--client", "permits", "--resource", "/seal", env=env
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert json.loads(tongxing("clients", "exchanges", "--json", env=env).stdout) == []
