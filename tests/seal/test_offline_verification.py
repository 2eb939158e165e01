"""Verifying offline from the root certificate alone (what ``tongxing verify`` does): a
B-LT document carries its revocation data and stays verifiable after those CRLs expire,
because it is validated at the time of its trusted timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from fastapi.testclient import TestClient
from pyhanko.sign.validation.dss import DocumentSecurityStore

from seal.verification import document_context, verify_pdf
from tests.seal.world import World, make_world


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _offline(pdf: bytes, anchor: asn1_x509.Certificate, *, at: str) -> dict[str, Any]:
    def context(reader: Any, moment: datetime | None) -> Any:
        if at == "three days later":
            # The same embedded CRLs, judged "now" once they have expired (nextUpdate is a
            # day after issue): what a verifier without the long-term rule would say.
            return DocumentSecurityStore.read_dss(reader).as_validation_context(
                {
                    "trust_roots": [anchor],
                    "allow_fetching": False,
                    "revocation_mode": "hard-fail",
                    "moment": datetime.now(UTC) + timedelta(days=3),
                }
            )
        return document_context(reader, moment, anchor=anchor, online=False)

    return verify_pdf(pdf, context=context, anchors=[anchor], max_bytes=1 << 26)


def test_long_term_documents_verify_offline_at_their_timestamp(world: World) -> None:
    anchor = asn1_x509.Certificate.load(world.client.get("/pki/ca/root.crt").content)
    long_term = world.sign(level="B-LT").content
    report = _offline(long_term, anchor, at="its timestamp")
    assert report["indication"] == "TOTAL_PASSED", report
    (signature,) = report["signatures"]
    assert signature["level"] == "B-LT" and signature["audit_log"] == {"recorded": None}

    later = _offline(long_term, anchor, at="three days later")
    assert later["signatures"][0]["sub_indication"] == "TRY_LATER"

    # B-T carries no revocation data: offline, its status is unknown, never assumed good.
    timestamped = _offline(world.sign(level="B-T").content, anchor, at="its timestamp")
    assert timestamped["signatures"][0]["sub_indication"] == "TRY_LATER"

    # Another root: the seal does not chain to it.
    other = world.client.get("/pki/ca/seal.crt").content  # a CA certificate, not our root
    foreign = _offline(long_term, asn1_x509.Certificate.load(other), at="its timestamp")
    assert foreign["indication"] != "TOTAL_PASSED"


def test_the_moment_comes_only_from_the_one_timestamp_over_this_signature(world: World) -> None:
    """A forger cannot choose the time offline validation happens at: a second token (say,
    an old one copied from another document) or a token over another signature value gives
    no moment, and validation happens now."""
    from io import BytesIO
    from types import SimpleNamespace

    from asn1crypto import cms
    from pyhanko.pdf_utils.reader import PdfFileReader

    from seal.verification import timestamp_time

    sealed = world.sign(level="B-T").content
    (signature,) = PdfFileReader(BytesIO(sealed)).embedded_regular_signatures
    info = signature.signer_info
    assert timestamp_time(signature) is not None

    def variant(**changes: Any) -> Any:
        copy = cms.SignerInfo.load(info.dump())
        for name, value in changes.items():
            copy[name] = value
        return SimpleNamespace(signer_info=copy)

    token = info["unsigned_attrs"][0]["values"][0]
    twice = cms.CMSAttributes([{"type": "signature_time_stamp_token", "values": [token, token]}])
    assert timestamp_time(variant(unsigned_attrs=twice)) is None
    other_value = bytes(64) if len(info["signature"].native) < 100 else bytes(384)
    assert timestamp_time(variant(signature=other_value)) is None
