"""``tongxing audit`` for operators and auditors (commands run in-process; a real server
for ``--url``)."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from audit import merkle
from keys import access_tokens
from tests.conftest import strong_secret
from tests.in_process import tongxing
from tests.pki import key_settings, opened_domain
from tests.processes import free_port, running_server


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    port = free_port()
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    return env


def _tamper(env: dict[str, str], index: int) -> None:
    """Rewrite the actor of entry ``index`` (every entry of `keys init` has one)."""
    with sqlite3.connect(Path(env["TONGXING_DATA_DIR"]) / "tongxing.db") as connection:
        (leaf,) = connection.execute(
            'SELECT leaf FROM audit_entries WHERE "index" = ?', (index,)
        ).fetchone()
        connection.execute(
            'UPDATE audit_entries SET leaf = ? WHERE "index" = ?',
            (bytes(leaf).replace(b"server:operator", b"server:OPERATOR"), index),
        )


def test_verify_export_and_tamper(installed: dict[str, str], tmp_path: Path) -> None:
    ok = tongxing("audit", "verify", env=installed)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ")
    export = tmp_path / "log.json"
    assert tongxing("audit", "export", "--out", str(export), env=installed).returncode == 0
    offline = tongxing("audit", "verify", "--export", str(export), "--json", env={})
    assert json.loads(offline.stdout)["ok"] is True
    _tamper(installed, 2)
    caught = tongxing("audit", "verify", env=installed)
    assert caught.returncode == 1
    assert re.search(
        r"\nTAMPERED: first entry that does not match: 2 \(type \w+\.\w+\)\n", caught.stderr
    )
    assert len(caught.stderr.splitlines()) <= 4, caught.stderr  # not one line per checkpoint
    still_good = tongxing("audit", "verify", "--export", str(export), env={})
    assert still_good.returncode == 0  # the auditor's earlier export is unaffected


def test_pinned_key_and_state(installed: dict[str, str], tmp_path: Path) -> None:
    key_pem = tmp_path / "log-key.pem"
    with opened_domain(
        key_settings(
            database_url=f"sqlite:///{Path(installed['TONGXING_DATA_DIR']) / 'tongxing.db'}",
            data_dir=tmp_path,
            key_encryption_key=installed["TONGXING_KEY_ENCRYPTION_KEY"],
            issuer=installed["TONGXING_ISSUER"],
        ),
        initialise=False,
    ) as domain:
        domain.keys.custody.open(create=False)
        with domain.audit.database.transaction() as session:
            key = domain.audit.log_key(session)
            assert key is not None
            key_pem.write_bytes(
                key.public_key.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
    state = tmp_path / "state.note"
    first = tongxing("audit", "verify", "--key", str(key_pem), "--state", str(state), env=installed)
    assert first.returncode == 0, first.stderr
    assert state.read_text().splitlines()[0].endswith("/audit")
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric import ec

    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    pinned = tongxing("audit", "verify", "--key", str(other), env=installed)
    assert pinned.returncode == 1
    assert "different key" in pinned.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    unreadable = tongxing("audit", "verify", "--key", str(garbage), env=installed)
    assert unreadable.returncode == 2 and "not a readable PEM public key" in unreadable.stderr


def test_prove_output_is_checkable(installed: dict[str, str]) -> None:
    result = tongxing("audit", "prove", "--index", "3", env=installed)
    assert result.returncode == 0, result.stderr
    proof = json.loads(result.stdout)
    from audit import checkpoint

    point = checkpoint.parse(proof["checkpoint"])[0]
    assert merkle.verify_inclusion(
        leaf=merkle.leaf_hash(base64.b64decode(proof["leaf"])),
        index=3,
        size=proof["tree_size"],
        proof=[base64.b64decode(h) for h in proof["hashes"]],
        root=point.root,
    )
    beyond = tongxing("audit", "prove", "--index", "100000", env=installed)
    assert beyond.returncode == 2 and "not in a signed tree" in beyond.stderr


def test_verify_a_running_deployment_over_http(installed: dict[str, str], tmp_path: Path) -> None:
    port = int(installed["TONGXING_ISSUER"].rsplit(":", 1)[1])
    settings = key_settings(
        database_url=f"sqlite:///{Path(installed['TONGXING_DATA_DIR']) / 'tongxing.db'}",
        data_dir=tmp_path,
        key_encryption_key=installed["TONGXING_KEY_ENCRYPTION_KEY"],
        issuer=installed["TONGXING_ISSUER"],
    )
    with opened_domain(settings, initialise=False) as domain:
        domain.keys.custody.open(create=False)
        with domain.keys.database.transaction() as session:
            token = access_tokens.mint(
                session,
                custody=domain.keys.custody,
                issuer=settings.issuer,
                audience=settings.issuer + "/audit",
                subject="auditor",
                client_id="audit-office",
                scope="audit:read",
                lifetime=timedelta(minutes=5),
            )
    token_file = tmp_path / "token"
    token_file.write_text(token)
    with running_server("serve", env=installed, cwd=tmp_path, port=port) as server:
        assert httpx.get(server.base_url + "/audit/v1/checkpoint").status_code == 200
        remote = tongxing(
            "audit", "verify", "--url", server.base_url, "--token-file", str(token_file), env={}
        )
        assert remote.returncode == 0, remote.stderr
        refused = tongxing("audit", "verify", "--url", server.base_url, env={})
        assert refused.returncode == 2 and "--token-file" in refused.stderr
