"""The ``/verify`` page people use: upload with a CSRF token, arrive from the QR code, read
the result in Chinese or English."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.seal.world import World, make_world
from tongxing import create_app


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_upload_arrive_from_the_qr_code_and_read_in_both_languages(world: World) -> None:
    sealed = world.sign()
    document_id = sealed.headers["tongxing-document-id"]
    client = world.client

    page = client.get("/verify")
    assert page.status_code == 200 and "电子印章验证" in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    result = client.post(
        "/verify",
        data={"csrf_token": _token(page.text)},
        files={"file": ("permit.pdf", sealed.content, "application/pdf")},
    )
    assert result.status_code == 200
    assert "有效" in result.text and "通行市住房和城乡建设局" in result.text
    assert f"/seal/v1/seals/{world.seal_id}/image" in result.text  # the seal is shown
    assert document_id in result.text

    forged = client.post(
        "/verify",
        data={"csrf_token": "forged"},
        files={"file": ("permit.pdf", sealed.content, "application/pdf")},
    )
    assert forged.status_code == 403 and "页面已过期" in forged.text

    # The QR code's link: our record first, then the holder uploads the copy they have.
    arrived = client.get(f"/verify?document={document_id}&lang=en")
    assert arrived.status_code == 200
    assert "Our record" in arrived.text and "inclusion proof verified" in arrived.text
    checked = client.post(
        "/verify?lang=en",
        data={"csrf_token": _token(arrived.text), "document": document_id},
        files={"file": ("permit.pdf", sealed.content, "application/pdf")},
    )
    assert checked.status_code == 200 and "Valid" in checked.text
    assert client.get("/verify?document=doc_unknown").status_code == 404
    not_pdf = client.post(
        "/verify",
        data={"csrf_token": _token(page.text)},
        files={"file": ("x.pdf", b"hello", "application/pdf")},
    )
    assert not_pdf.status_code == 415 and "PDF" in not_pdf.text


def test_public_verification_is_rate_limited_per_address(
    make_settings: Callable[..., Settings],
) -> None:
    with TestClient(create_app(make_settings(seal_verifications_per_minute=2))) as client:
        world = make_world(client)
        sealed = world.sign().content
        answers = [
            client.post("/seal/v1/verify", files={"file": ("s.pdf", sealed, "application/pdf")})
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "60"
    assert answers[2].json()["type"] == "urn:tongxing:problem:too-many-requests"
