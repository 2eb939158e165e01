"""Parties we did not write check our PKI against a running server: OpenSSL and pyHanko."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError

from keys.runtime import KeyServices
from keys.seal_certificates import issue_seal_certificate
from tests.admin.world import SECURITY, appoint_with_cli
from tests.conftest import strong_secret
from tests.in_process import tongxing
from tests.pki import key_settings, opened_key_services
from tests.processes import Server, free_port, running_server

pytestmark = pytest.mark.slow


@dataclass
class LivePki:
    server: Server
    env: dict[str, str]
    work: Path
    good: str  # serial (hex) of a seal certificate left alone
    doomed: str  # serial (hex) of one the test revokes

    def pem(self, name: str) -> Path:
        return self.work / f"{name}.pem"


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePki]:
    work = tmp_path_factory.mktemp("interop")
    port = free_port()
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(work),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    appoint_with_cli(env)
    settings = key_settings(
        database_url=f"sqlite:///{work / 'tongxing.db'}",
        data_dir=work,
        issuer=env["TONGXING_ISSUER"],
        key_encryption_key=env["TONGXING_KEY_ENCRYPTION_KEY"],
    )
    serials = []
    with opened_key_services(settings, initialise=False) as ks:
        ks.custody.open(create=False)
        for index in range(2):
            serials.append(_issue(ks, f"seal-{index}", work))
    with running_server("serve", env=env, cwd=work, port=port) as server:
        for name in ("root", "seal", "infra"):
            work.joinpath(f"{name}.pem").write_bytes(
                httpx.get(f"{server.base_url}/pki/ca/{name}.pem").content
            )
        yield LivePki(server=server, env=env, work=work, good=serials[0], doomed=serials[1])


def _issue(ks: KeyServices, owner: str, work: Path) -> str:
    from asn1crypto import pem

    with ks.database.transaction() as session:
        row = issue_seal_certificate(
            session,
            hierarchy=ks.hierarchy,
            owner=owner,
            organization="互操作测试单位",
            uscc="12330100470000000A",
            seal_name=f"互操作测试单位印章 {owner}",
            actor="test",
        )
    work.joinpath(f"{row.serial}.pem").write_bytes(pem.armor("CERTIFICATE", row.der))
    return row.serial


def test_openssl_verifies_every_chain(live: LivePki) -> None:
    result = openssl(
        "verify",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "seal.pem",
        f"{live.good}.pem",
        "seal.pem",
        "infra.pem",
        cwd=live.work,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": OK") == 3


def _ocsp(live: LivePki, serial: str) -> str:
    result = openssl(
        "ocsp",
        "-issuer",
        "seal.pem",
        "-cert",
        f"{serial}.pem",
        "-url",
        f"{live.server.base_url}/pki/ocsp",
        "-CAfile",
        "root.pem",
        "-resp_text",
        cwd=live.work,
    )
    assert result.returncode == 0, result.stderr
    assert "Response verify OK" in result.stderr + result.stdout
    return result.stdout


def test_openssl_ocsp_good_then_revoked(live: LivePki) -> None:
    assert f"{live.doomed}.pem: good" in _ocsp(live, live.doomed)
    revoke = tongxing(
        "keys",
        "revoke",
        "--ca",
        "seal",
        "--serial",
        live.doomed,
        "--reason",
        "key_compromise",
        "--as",
        SECURITY,
        env=live.env,
    )
    assert revoke.returncode == 0, revoke.stderr
    answer = _ocsp(live, live.doomed)
    assert f"{live.doomed}.pem: revoked" in answer
    assert "Reason: keyCompromise" in answer
    assert f"{live.good}.pem: good" in _ocsp(live, live.good)


def test_openssl_reads_and_verifies_the_crl(live: LivePki) -> None:
    tongxing(
        "keys", "revoke", "--ca", "seal", "--serial", live.doomed, "--as", SECURITY, env=live.env
    )
    crl = httpx.get(f"{live.server.base_url}/pki/crl/seal.crl").content
    live.work.joinpath("seal.crl").write_bytes(crl)
    chain = live.work / "chain.pem"
    chain.write_bytes(live.pem("root").read_bytes() + live.pem("seal").read_bytes())
    result = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        "seal.crl",
        "-CAfile",
        "chain.pem",
        "-noout",
        "-text",
        cwd=live.work,
    )
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stderr + result.stdout
    assert f"Serial Number: {live.doomed.upper()}" in result.stdout
    assert "Next Update" in result.stdout


def test_openssl_verifies_our_timestamps(live: LivePki) -> None:
    document = live.work / "document.txt"
    document.write_text("营业执照 / business licence")
    query = openssl(
        "ts",
        "-query",
        "-data",
        "document.txt",
        "-sha256",
        "-cert",
        "-out",
        "request.tsq",
        cwd=live.work,
    )
    assert query.returncode == 0, query.stderr
    reply = httpx.post(
        f"{live.server.base_url}/pki/tsa",
        content=live.work.joinpath("request.tsq").read_bytes(),
        headers={"content-type": "application/timestamp-query"},
    )
    live.work.joinpath("reply.tsr").write_bytes(reply.content)
    live.work.joinpath("tsa-chain.pem").write_bytes(
        live.pem("root").read_bytes() + live.pem("infra").read_bytes()
    )
    verify = openssl(
        "ts",
        "-verify",
        "-data",
        "document.txt",
        "-in",
        "reply.tsr",
        "-CAfile",
        "tsa-chain.pem",
        cwd=live.work,
    )
    assert verify.returncode == 0, verify.stderr + verify.stdout
    assert "Verification: OK" in verify.stdout
    tampered = openssl(
        "ts",
        "-verify",
        "-digest",
        hashlib.sha256(b"other").hexdigest(),
        "-in",
        "reply.tsr",
        "-CAfile",
        "tsa-chain.pem",
        cwd=live.work,
    )
    assert tampered.returncode != 0


def _pyhanko_validate(live: LivePki, serial: str) -> None:
    def load(name: str) -> asn1_x509.Certificate:
        from asn1crypto import pem

        _, _, der = pem.unarmor(live.work.joinpath(f"{name}.pem").read_bytes())
        return asn1_x509.Certificate.load(der)

    context = ValidationContext(
        trust_roots=[load("root")],
        other_certs=[load("seal")],
        allow_fetching=True,
        revocation_mode="require",
    )
    validator = CertificateValidator(load(serial), validation_context=context)
    asyncio.run(validator.async_validate_usage({"digital_signature", "non_repudiation"}))


def test_pyhanko_validator_with_required_revocation_checks(live: LivePki) -> None:
    _pyhanko_validate(live, live.good)
    tongxing(
        "keys", "revoke", "--ca", "seal", "--serial", live.doomed, "--as", SECURITY, env=live.env
    )
    with pytest.raises(RevokedError):
        _pyhanko_validate(live, live.doomed)
