"""``tongxing seals`` and ``tongxing grants`` in demo mode, where the seeded holder of the
needed role (or an administrator of the organisation) acts when ``--as`` is left out, and
where the rule book still refuses what the acting person may not do. (Production mode,
where ``--as`` is required, is walked in ``tests/flows/test_seal_interop.py``.)"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from core.settings import load_settings
from tests.in_process import tongxing
from tongxing import create_app
from tongxing.demo_data import BUREAU_USCC, CERTSYS_CLIENT_ID, ENTERPRISE_USCC


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("demo-seals")
    with TestClient(create_app(load_settings({}, mode="demo", data_dir=str(data_dir)))):
        pass  # starting the demo migrates, makes the keys and seeds the demo data
    return {"TONGXING_MODE": "demo", "TONGXING_DATA_DIR": str(data_dir)}


def _ok(*args: str, env: dict[str, str]) -> str:
    done = tongxing(*args, env=env)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip().splitlines()[-1]


def _refused(*args: str, env: dict[str, str]) -> str:
    done = tongxing(*args, env=env)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    return done.stderr


def test_applications_in_demo_mode(env: dict[str, str]) -> None:
    # Filed by the enterprise's administrator (staff), approved by secadmin.
    app_id = _ok("seals", "apply", "--org", ENTERPRISE_USCC, "--type", "contract", env=env)
    pending = json.loads(_ok("seals", "applications", "--status", "pending", "--json", env=env))
    assert [(a["id"], a["applicant"]) for a in pending] == [(app_id, "person:staff")]
    # A system administrator cannot approve a seal application.
    assert "security administrator" in _refused(
        "seals", "approve", app_id, "--as", "sysadmin", env=env
    )
    seal_id = _ok("seals", "approve", app_id, "--days", "30", env=env)
    assert seal_id.startswith("seal_")
    other = _ok("seals", "apply", "--org", ENTERPRISE_USCC, "--type", "finance", env=env)
    _refused("seals", "reject", other, "--reason", "", env=env)
    assert _ok("seals", "reject", other, "--reason", "不需要", env=env).endswith("rejected")
    # The officer administers the bureau, not the enterprise.
    assert "does not act as an administrator" in _refused(
        "seals", "apply", "--org", ENTERPRISE_USCC, "--type", "invoice", "--as", "officer", env=env
    )
    # seals create: two people, the second a security administrator.
    _refused(
        "seals",
        "create",
        "--org",
        ENTERPRISE_USCC,
        "--type",
        "invoice",
        "--as",
        "staff",
        "--approve-as",
        "staff",
        env=env,
    )


def test_seal_changes_and_grants_in_demo_mode(env: dict[str, str]) -> None:
    seal_id = _ok("seals", "create", "--org", BUREAU_USCC, "--type", "certificate", env=env)
    listed = json.loads(_ok("seals", "list", "--org", BUREAU_USCC, "--json", env=env))
    assert seal_id in [s["id"] for s in listed]
    # The bureau's administrator may suspend its seal, not bring it back.
    assert "suspended" in _ok("seals", "suspend", seal_id, "--as", "officer", env=env)
    _refused("seals", "resume", seal_id, "--as", "officer", env=env)
    _refused("seals", "suspend", seal_id, "--as", "staff", env=env)
    assert "active" in _ok("seals", "resume", seal_id, env=env)
    # Requested by the system administrator: pending until the bureau approves.
    grant_id = _ok(
        "grants", "request", "--client-id", CERTSYS_CLIENT_ID, "--seal", seal_id, env=env
    )
    [pending] = json.loads(_ok("grants", "list", "--seal", seal_id, "--json", env=env))
    assert (pending["status"], pending["requested_by"]) == ("pending", "person:sysadmin")
    _refused("grants", "approve", grant_id, "--as", "staff", env=env)
    _ok("grants", "approve", grant_id, "--max-uses", "3", env=env)
    [active] = json.loads(_ok("grants", "list", "--seal", seal_id, "--json", env=env))
    assert (active["status"], active["approved_by"], active["max_uses"]) == (
        "active",
        "person:officer",
        3,
    )
    _ok("grants", "revoke", grant_id, env=env)
    # grants create = request + approval by --approved-by (who must administer the bureau).
    stderr = _refused(
        "grants",
        "create",
        "--client-id",
        CERTSYS_CLIENT_ID,
        "--seal",
        seal_id,
        "--approved-by",
        "staff",
        env=env,
    )
    assert "stays pending" in stderr
    created = _ok(
        "grants",
        "create",
        "--client-id",
        CERTSYS_CLIENT_ID,
        "--seal",
        seal_id,
        "--approved-by",
        "officer",
        env=env,
    )
    statuses = {
        g["id"]: g["status"]
        for g in json.loads(_ok("grants", "list", "--seal", seal_id, "--json", env=env))
    }
    assert statuses[created] == "active" and sorted(statuses.values()) == [
        "active",
        "pending",
        "revoked",
    ]
    assert "revoked" in _ok("seals", "revoke", seal_id, "--reason", "superseded", env=env)
