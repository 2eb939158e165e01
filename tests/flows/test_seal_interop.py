"""A certificate system seals over real HTTP; parties we did not write check the result.

One real server in production mode, set up only through the ``tongxing`` CLI (organisation,
administrator, client, seal, grant). pyHanko's validator checks the sealed PDFs with our
exported root as the only trust anchor and revocation *required*, fetched from the live
CRL/OCSP endpoints; ``tongxing verify`` checks them offline; then the seal is revoked and
both must say so.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign._session_scope import run_and_release
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from tests.conftest import strong_secret
from tests.in_process import tongxing
from tests.processes import Server, free_port, running_server
from tests.seal.world import (
    AUDITOR,
    CLIENT_ID,
    SECADMIN,
    SECRET,
    SYSADMIN,
    USCC,
    cli,
    set_up_with_cli,
)
from tongxing.demo_sealing import sample_permit

pytestmark = pytest.mark.slow


@dataclass
class Live:
    server: Server
    env: dict[str, str]
    work: Path
    seal_id: str
    grant_id: str

    def token(self) -> str:
        answer = httpx.post(
            f"{self.server.base_url}/token",
            data={"grant_type": "client_credentials", "scope": "seal:sign"},
            auth=(CLIENT_ID, SECRET),
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def seal(self, pdf: bytes, **fields: str) -> httpx.Response:
        return httpx.post(
            f"{self.server.base_url}/seal/v1/sign",
            headers={"Authorization": f"Bearer {self.token()}"},
            files={"file": ("permit.pdf", pdf, "application/pdf")},
            data={"seal_id": self.seal_id, "anchor": "（盖章）", **fields},
            timeout=30,
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("seal-interop")
    port = free_port()
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(work),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    cli("db", "upgrade", env=env)
    cli("keys", "init", env=env)
    seal_id = set_up_with_cli(env, members=("clerk",))
    # Only an administrator of the seal's organisation may approve a grant.
    refused = tongxing(
        "grants",
        "create",
        "--client-id",
        "permit-system",
        "--seal",
        seal_id,
        "--approved-by",
        "clerk",
        "--as",
        SYSADMIN,
        env=env,
    )
    assert refused.returncode == 2, refused.stderr
    assert "does not act as an administrator of organisation" in refused.stderr
    # Production mode: every administrative command names who acts.
    anonymous = tongxing("seals", "list", env=env)
    assert anonymous.returncode == 2 and "--as" in anonymous.stderr
    grant_id = cli(
        "grants",
        "create",
        "--client-id",
        "permit-system",
        "--seal",
        seal_id,
        "--approved-by",
        "officer",
        "--as",
        SYSADMIN,
        env=env,
    )
    with running_server("serve", env=env, cwd=work, port=port) as server:
        work.joinpath("root.pem").write_bytes(
            httpx.get(f"{server.base_url}/pki/ca/root.pem").content
        )
        yield Live(server=server, env=env, work=work, seal_id=seal_id, grant_id=grant_id)


def _root(live: Live) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(live.work.joinpath("root.pem").read_bytes())
    return asn1_x509.Certificate.load(der)


def _pyhanko_status(live: Live, pdf: bytes) -> object:
    reader = PdfFileReader(BytesIO(pdf))
    (signature,) = reader.embedded_regular_signatures
    context = ValidationContext(
        trust_roots=[_root(live)], allow_fetching=True, revocation_mode="require"
    )
    validation = async_validate_pdf_signature(signature, signer_validation_context=context)
    return asyncio.run(run_and_release(validation, context))  # closes its HTTP sessions


def _verifycli(live: Live, path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    done = tongxing(
        "verify", str(path), "--root", str(live.work / "root.pem"), "--json", *extra, env=live.env
    )
    return done.returncode, json.loads(done.stdout)


def test_sealed_pdfs_validate_with_pyhanko_and_offline_then_fail_once_revoked(
    live: Live,
) -> None:
    sealed = {}
    for level in ("B-T", "B-LT"):
        answer = live.seal(sample_permit(), level=level)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["tongxing-document-id"].startswith("doc_")
        assert int(answer.headers["tongxing-audit-index"]) >= 0
        sealed[level] = answer.content
        path = live.work / f"sealed-{level}.pdf"
        path.write_bytes(answer.content)

        status: Any = _pyhanko_status(live, answer.content)
        # On failure, pyHanko's own account (which check, which certificate, which fetch).
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.bottom_line  # type: ignore[attr-defined]
        assert status.timestamp_validity is not None  # type: ignore[attr-defined]
        assert status.timestamp_validity.trusted  # type: ignore[attr-defined]
        expected = (
            SignatureCoverageLevel.ENTIRE_FILE
            if level == "B-T"
            else SignatureCoverageLevel.ENTIRE_REVISION  # the DSS revision follows it
        )
        assert status.coverage == expected  # type: ignore[attr-defined]

    # Offline: B-LT carries its revocation data, B-T needs --online for it.
    code, report = _verifycli(live, live.work / "sealed-B-LT.pdf")
    assert code == 0 and report["indication"] == "TOTAL_PASSED"
    code, report = _verifycli(live, live.work / "sealed-B-T.pdf")
    assert code == 1 and report["indication"] == "INDETERMINATE"
    assert report["signatures"][0]["sub_indication"] == "TRY_LATER"  # type: ignore[index]
    code, report = _verifycli(live, live.work / "sealed-B-T.pdf", "--online")
    assert code == 0 and report["indication"] == "TOTAL_PASSED"

    image = live.work / "seal.png"
    cli("seals", "image", live.seal_id, "--out", str(image), "--as", AUDITOR, env=live.env)
    assert image.read_bytes().startswith(b"\x89PNG")
    listed = json.loads(cli("seals", "list", "--json", "--as", "officer", env=live.env))
    assert [s["status"] for s in listed] == ["active"]

    cli(
        "seals",
        "revoke",
        live.seal_id,
        "--reason",
        "key_compromise",
        "--as",
        SECADMIN,
        env=live.env,
    )
    status = _pyhanko_status(live, sealed["B-T"])
    assert status.revoked and not status.bottom_line  # type: ignore[attr-defined]
    code, report = _verifycli(live, live.work / "sealed-B-T.pdf", "--online")
    assert code == 1 and report["indication"] == "TOTAL_FAILED"
    assert report["signatures"][0]["sub_indication"] == "REVOKED"  # type: ignore[index]
    refused = live.seal(sample_permit())
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:seal-not-active"


def test_a_revoked_grant_stops_the_client_at_once(live: Live) -> None:
    seal_id = cli(
        "seals",
        "create",
        "--org",
        USCC,
        "--type",
        "certificate",
        "--as",
        "officer",
        "--approve-as",
        SECADMIN,
        env=live.env,
    )
    grant_id = cli(
        "grants",
        "create",
        "--client-id",
        "permit-system",
        "--seal",
        seal_id,
        "--approved-by",
        "officer",
        "--max-uses",
        "5",
        "--as",
        SYSADMIN,
        env=live.env,
    )
    live.seal_id = seal_id
    assert live.seal(sample_permit()).status_code == 200
    listed = json.loads(
        cli("grants", "list", "--seal", seal_id, "--json", "--as", AUDITOR, env=live.env)
    )
    assert [(g["id"], g["uses"], g["max_uses"]) for g in listed] == [(grant_id, 1, 5)]
    cli("grants", "revoke", grant_id, "--as", "officer", env=live.env)
    refused = live.seal(sample_permit())
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:no-grant"
