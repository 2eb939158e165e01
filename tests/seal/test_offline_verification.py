"""Verifying offline from the root certificate alone (what ``tongxing verify`` does): a
B-LT document carries its revocation data and stays verifiable after those CRLs expire,
because it is validated at the time of its trusted timestamp."""

from __future__ import annotations

from datetime import datetime, timedelta
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
        if at == "three days later" and moment is not None:
            # The same embedded CRLs, judged "now" once they have expired (nextUpdate is a
            # day after issue): what a verifier without the long-term rule would say.
            return DocumentSecurityStore.read_dss(reader).as_validation_context(
                {
                    "trust_roots": [anchor],
                    "allow_fetching": False,
                    "revocation_mode": "hard-fail",
                    "moment": moment + timedelta(days=3),
                }
            )
        return document_context(reader, moment, anchor=anchor, online=False)

    return verify_pdf(pdf, context=context, max_bytes=1 << 26)


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
