"""A seal made under a root we do not trust reads as such, never as "try later": a look-alike
PKI with our names, and a document sealed by another installation of Tongxing, on the API,
the ``/verify`` page and ``tongxing verify`` (ETSI EN 319 102-1 NO_CERTIFICATE_CHAIN_FOUND)."""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from typer.testing import CliRunner

from core.database import Database
from core.settings import Settings, load_settings
from tests.conftest import init_keys, strong_secret
from tests.keys.foreign import look_alike
from tests.seal.world import World, make_world
from tongxing import create_app, migrate
from tongxing.cli import app as cli_app
from tongxing.demo_sealing import sample_permit

UNTRUSTED = ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _our_chain(sealed: bytes) -> list[x509.Certificate]:
    """The seal certificate, the seal CA and the root a sealed PDF of ours carries."""
    (signature,) = PdfFileReader(BytesIO(sealed)).embedded_regular_signatures
    chain = [signature.signer_cert, *signature.other_embedded_certs]
    found = [x509.load_der_x509_certificate(c.dump()) for c in chain]
    assert [c.subject.rfc4514_string().split(",")[0] for c in found[1:]] == [
        "CN=Tongxing Seal CA",
        "CN=Tongxing Root CA",
    ]
    return found


def _sealed_with(chain: list[x509.Certificate], key: ec.EllipticCurvePrivateKey) -> bytes:
    """The sample permit sealed by pyHanko itself with ``key`` and ``chain`` embedded."""
    signer = signers.SimpleSigner(
        signing_cert=_asn1(chain[0]),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain[1:]]),
    )
    output = BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(sample_permit())),
        signers.PdfSignatureMetadata(field_name="Seal1"),
        signer=signer,
        output=output,
    )
    return output.getvalue()


def _look_alike_documents(world: World) -> dict[str, bytes]:
    ours = _our_chain(world.sign().content)
    return {
        # Linked by key identifiers: no path to our root exists at all.
        "look-alike": _sealed_with(*look_alike(ours)),
        # Linked by names only: paths through our CAs exist, and fail their signatures.
        "look-alike by name": _sealed_with(*look_alike(ours, key_identifiers=False)),
    }


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _page(client: TestClient, pdf: bytes, lang: str) -> str:
    form = client.get(f"/verify?lang={lang}")
    answer = client.post(
        f"/verify?lang={lang}",
        data={"csrf_token": _token(form.text)},
        files={"file": ("permit.pdf", pdf, "application/pdf")},
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _cli(pdf: bytes, root: bytes, work: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    (work / "sealed.pdf").write_bytes(pdf)
    (work / "root.crt").write_bytes(root)
    done = CliRunner().invoke(
        cli_app,
        ["verify", str(work / "sealed.pdf"), "--root", str(work / "root.crt"), "--json", *extra],
    )
    return done.exit_code, json.loads(done.stdout)


def _reads_untrusted(report: dict[str, Any]) -> None:
    (signature,) = report["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == UNTRUSTED, signature
    assert report["indication"] == "INDETERMINATE"
    assert signature["explanation"]["zh-CN"].startswith("签章证书不是由受信任的机构签发")
    assert "not issued by a trusted authority" in signature["explanation"]["en"]
    # Revocation is not asked about for a chain no anchor vouches for.
    assert signature["revocation"] == {"status": "not_checked"}
    assert signature["trusted"] is False and signature["integrity"]["intact"] is True


def _check_everywhere(world: World, pdf: bytes, work: Path) -> None:
    _reads_untrusted(world.verify(pdf))
    chinese = _page(world.client, pdf, "zh-CN")
    assert "签章证书不是由受信任的机构签发" in chinese and "暂时无法确认" not in chinese
    english = _page(world.client, pdf, "en")
    assert "not issued by a trusted authority" in english
    assert "cannot be confirmed now" not in english
    root = world.client.get("/pki/ca/root.crt").content
    for extra in ((), ("--online",)):  # online, nothing is fetched for it either
        code, report = _cli(pdf, root, work, *extra)
        assert code == 1
        _reads_untrusted(report)


def test_a_look_alike_pki_is_not_a_trusted_authority(world: World, tmp_path: Path) -> None:
    for pdf in _look_alike_documents(world).values():
        _check_everywhere(world, pdf, tmp_path)


@pytest.fixture
def other_installation(tmp_path: Path, storage: dict[str, str]) -> bytes:
    """A document sealed by another installation of Tongxing: its own database and fresh
    keys under the very same names (an earlier installation, say)."""
    home = tmp_path / "other"
    home.mkdir()
    settings: Settings = load_settings(
        {},
        mode="production",
        data_dir=str(home),
        issuer="http://127.0.0.1:8000",
        key_encryption_key=strong_secret(),
        log_format="text",
        database_url=f"sqlite:///{home / 'tongxing.db'}",
        redis_url="",
        store_prefix=storage["store_prefix"] + "other",
    )
    database = Database(settings.resolved_database_url)
    migrate.upgrade(database)
    database.dispose()
    init_keys(settings)
    with TestClient(create_app(settings)) as client:
        answer = make_world(client).sign()
    assert answer.status_code == 200, answer.text
    return answer.content


def test_a_document_of_another_installation_reads_the_same(
    world: World, other_installation: bytes, tmp_path: Path
) -> None:
    _check_everywhere(world, other_installation, tmp_path)


def test_our_own_seal_still_passes_and_the_chain_check_needs_valid_signatures(
    world: World,
) -> None:
    from seal.verification import chain_context, reaches_anchor

    sealed = world.sign().content
    assert world.verify(sealed)["indication"] == "TOTAL_PASSED"
    root = asn1_x509.Certificate.load(world.client.get("/pki/ca/root.crt").content)
    documents = {"ours": sealed, **_look_alike_documents(world)}
    found = {}
    for name, pdf in documents.items():
        (signature,) = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
        found[name] = reaches_anchor(signature, context=chain_context([root], moment=None))
    assert found == {"ours": True, "look-alike": False, "look-alike by name": False}
