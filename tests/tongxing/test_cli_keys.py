"""``tongxing keys`` as an operator uses it (in-process; a real process where the PKCS#11
module is loaded at start-up)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import processes
from tests.admin.world import AUDIT, SECURITY, SYSTEM, appoint_with_cli
from tests.conftest import strong_secret
from tests.in_process import tongxing

pytestmark = pytest.mark.slow

PASSPHRASE = "correct horse battery staple\n"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    data_dir.mkdir(exist_ok=True)
    return {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(data_dir),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
        **extra,
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = _env(tmp_path_factory.mktemp("keys-cli") / "data")
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    appoint_with_cli(env)
    return env


AS_SECURITY = ("--as", SECURITY)


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    env = _env(tmp_path / "d")
    tongxing("db", "upgrade", env=env)
    result = tongxing("keys", "list", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: keys are not initialised: run `tongxing keys init`"


def test_init_is_idempotent(tmp_path: Path) -> None:
    env = _env(tmp_path / "d")
    tongxing("db", "upgrade", env=env)
    first = tongxing("keys", "init", "--json", env=env)
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)["created"]
    assert "root CA" in created and "TSA certificate" in created
    again = tongxing("keys", "init", env=env)
    assert again.stdout.strip() == "the key hierarchy is complete; nothing to do"


def test_list_and_certificates(installed: dict[str, str]) -> None:
    tongxing("keys", "init", env=installed)
    keys = json.loads(tongxing("keys", "list", "--json", env=installed).stdout)
    purposes = sorted({k["purpose"] for k in keys})
    assert purposes == ["audit-log", "issuing-ca", "ocsp", "root-ca", "token-signing", "tsa"]
    assert all(k["store"] == "software" and k["algorithm"] == "ES256" for k in keys)
    certificates = json.loads(tongxing("keys", "certificates", "--json", env=installed).stdout)
    assert {c["kind"] for c in certificates} == {"ca", "ocsp", "tsa"}


def test_rotate_token_signing(installed: dict[str, str]) -> None:
    tongxing("keys", "init", env=installed)
    before = json.loads(
        tongxing("keys", "list", "--json", "--purpose", "token-signing", env=installed).stdout
    )
    upcoming = next(k["id"] for k in before if k["state"] == "next")
    early = tongxing("keys", "rotate", "--purpose", "token-signing", *AS_SECURITY, env=installed)
    assert early.returncode == 2 and "relying parties cache JWKS for 300 s" in early.stderr
    rotated = json.loads(
        tongxing(
            "keys",
            "rotate",
            "--purpose",
            "token-signing",
            "--json",
            "--force",
            *AS_SECURITY,
            env=installed,
        ).stdout
    )
    assert rotated["active"] == upcoming
    refused = tongxing("keys", "rotate", "--purpose", "root-ca", *AS_SECURITY, env=installed)
    assert refused.returncode == 2 and "not a keys operation" in refused.stderr


def test_rotation_and_certificate_status_need_the_security_administrator(
    installed: dict[str, str],
) -> None:
    certificates = json.loads(
        tongxing("keys", "certificates", "--json", "--ca", "infra", env=installed).stdout
    )
    serial = next(c["serial"] for c in certificates if c["kind"] == "ocsp")
    for command in (
        ("rotate", "--force"),
        ("suspend", "--ca", "infra", "--serial", serial),
        ("revoke", "--ca", "infra", "--serial", serial),
    ):
        anonymous = tongxing("keys", *command, env=installed)
        assert anonymous.returncode == 2
        assert "--as LOGIN (required outside demo mode)" in anonymous.stderr
        for login in (SYSTEM, AUDIT):
            refused = tongxing("keys", *command, "--as", login, env=installed)
            assert refused.returncode == 2, refused.stdout
            assert "does not act as 安全管理员 security administrator" in refused.stderr
    status = json.loads(tongxing("keys", "status", "--json", "--as", AUDIT, env=installed).stdout)
    assert {ca["name"] for ca in status["certificate_authorities"]} == {"root", "seal", "infra"}
    assert "token " in tongxing("keys", "status", *AS_SECURITY, env=installed).stdout


def test_revoke_suspend_reinstate(installed: dict[str, str]) -> None:
    tongxing("keys", "init", env=installed)
    certificates = json.loads(
        tongxing("keys", "certificates", "--json", "--ca", "infra", env=installed).stdout
    )
    serial = next(c["serial"] for c in certificates if c["kind"] == "ocsp")
    args = ("--ca", "infra", "--serial", serial)
    args = (*args, *AS_SECURITY)
    assert "suspended" in tongxing("keys", "suspend", *args, env=installed).stdout
    assert "good" in tongxing("keys", "reinstate", *args, env=installed).stdout
    bad = tongxing("keys", "revoke", *args, "--reason", "because", env=installed)
    assert bad.returncode == 2 and "unknown revocation reason" in bad.stderr
    unknown = tongxing(
        "keys", "revoke", "--ca", "infra", "--serial", "abc", *AS_SECURITY, env=installed
    )
    assert unknown.returncode == 2 and "no certificate abc" in unknown.stderr


def test_export_root_is_what_openssl_reads(installed: dict[str, str], tmp_path: Path) -> None:
    tongxing("keys", "init", env=installed)
    result = tongxing("keys", "export-root", env=installed)
    assert result.stdout.startswith("-----BEGIN CERTIFICATE-----")
    out = tmp_path / "root.pem"
    tongxing("keys", "export-root", "--out", str(out), env=installed)
    parsed = subprocess.run(
        ["openssl", "x509", "-in", str(out), "-noout", "-subject"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Tongxing Root CA" in parsed.stdout


def test_wrong_key_encryption_key(installed: dict[str, str]) -> None:
    tongxing("keys", "init", env=installed)
    wrong = {**installed, "TONGXING_KEY_ENCRYPTION_KEY": strong_secret()}
    result = tongxing("keys", "list", env=wrong)
    assert result.returncode == 2
    assert "this is not the key-encryption key" in result.stderr
    assert "\n" not in result.stderr.strip()
    assert installed["TONGXING_KEY_ENCRYPTION_KEY"] not in result.stderr


def test_backup_and_restore_into_an_empty_install(
    installed: dict[str, str], tmp_path: Path
) -> None:
    tongxing("keys", "init", env=installed)
    bundle = tmp_path / "keys.backup"
    made = tongxing("keys", "backup", "--out", str(bundle), env=installed, stdin=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    again = tongxing("keys", "backup", "--out", str(bundle), env=installed, stdin=PASSPHRASE)
    assert again.returncode == 2 and "exists" in again.stderr

    fresh = _env(tmp_path / "fresh")
    tongxing("db", "upgrade", env=fresh)
    wrong = tongxing("keys", "restore", "--in", str(bundle), env=fresh, stdin="nope nope nope\n")
    assert wrong.returncode == 2 and wrong.stderr.strip() == "error: wrong backup passphrase"
    restored = tongxing("keys", "restore", "--in", str(bundle), env=fresh, stdin=PASSPHRASE)
    assert restored.returncode == 0, restored.stderr
    original = tongxing("keys", "export-root", env=installed).stdout
    assert tongxing("keys", "export-root", env=fresh).stdout == original
    assert _key_ids(fresh) == _key_ids(installed)


def _key_ids(env: dict[str, str]) -> list[str]:
    listing = json.loads(tongxing("keys", "list", "--json", env=env).stdout)
    return sorted(k["id"] for k in listing)


def test_root_offline_and_back(tmp_path: Path) -> None:
    env = _env(tmp_path / "d")
    tongxing("db", "upgrade", env=env)
    tongxing("keys", "init", env=env)
    bundle = tmp_path / "root.offline"
    offline = tongxing("keys", "root-offline", "--out", str(bundle), env=env, stdin=PASSPHRASE)
    assert offline.returncode == 0, offline.stderr
    states = {
        k["purpose"]: k["state"]
        for k in json.loads(tongxing("keys", "list", "--json", env=env).stdout)
    }
    assert states["root-ca"] == "offline"
    online = tongxing("keys", "root-online", "--in", str(bundle), env=env, stdin=PASSPHRASE)
    assert online.returncode == 0, online.stderr
    states = {
        k["purpose"]: k["state"]
        for k in json.loads(tongxing("keys", "list", "--json", env=env).stdout)
    }
    assert states["root-ca"] == "active"


def test_missing_pkcs11_token_stops_the_start(installed: dict[str, str], softhsm) -> None:  # type: ignore[no-untyped-def]
    env = {
        **installed,
        "TONGXING_PKCS11_MODULE": softhsm.module,
        "TONGXING_PKCS11_TOKEN_LABEL": "no-such-token",
        "TONGXING_PKCS11_PIN": "1234",
        "TONGXING_PKCS11_PURPOSES": "seal",
    }
    tongxing("keys", "init", env=installed)
    result = processes.tongxing("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "error: TONGXING_PKCS11_MODULE: PKCS#11 token 'no-such-token' not found"
    )
