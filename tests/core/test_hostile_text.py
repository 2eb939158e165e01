"""Text that no column can hold (a NUL character) gets the same clear 4xx on both engines."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.oidc import Request, add_person, add_rp, domain_of, hidden
from tests.seal.world import make_world
from tongxing.demo_sealing import sample_permit


def _is_clear_refusal(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, response.text[:300])  # type: ignore[attr-defined]


def test_nul_in_urls_is_refused_on_both_engines(client: TestClient) -> None:
    for url in (
        "/authorize?client_id=a%00b&response_type=code",
        "/seal/v1/documents/doc%00x",
        "/seal/v1/seals/seal%00x/image",
        "/verify?document=doc%00x",
        "/audit/v1/entries/1%00",
    ):
        _is_clear_refusal(client.get(url))


def test_nul_in_bodies_and_credentials_is_refused(client: TestClient) -> None:
    domain = domain_of(client)
    add_person(domain, "zhangsan")
    add_rp(domain)
    raw = base64.b64encode(b"perm\x00its:secret").decode()
    answer = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {raw}"},
    )
    _is_clear_refusal(answer)
    assert answer.json()["error"] in ("invalid_client", "invalid_request")
    answer = client.post("/token", data={"grant_type": "client_credentials", "client_id": "a\x00"})
    _is_clear_refusal(answer)
    page = client.get(Request().url(), follow_redirects=True)
    assert page.status_code == 200
    answer = client.post(
        "/login",
        data={
            "interaction": hidden(page.text, "interaction"),
            "csrf_token": hidden(page.text, "csrf_token"),
            "login": "zhang\x00san",
            "password": "x",
        },
    )
    _is_clear_refusal(answer)


def test_nul_in_a_sealing_request_is_refused(client: TestClient) -> None:
    world = make_world(client)
    _is_clear_refusal(world.sign(seal_id="seal\x00x"))
    _is_clear_refusal(world.sign(sample_permit(), anchor="盖\x00章"))
    _is_clear_refusal(
        world.sign(sample_permit(), headers={"Idempotency-Key": "k"}, document_type="a\x00")
    )
    assert world.sealings_logged() == 0


@pytest.mark.parametrize("path", ["/verify", "/seal/v1/verify"])
def test_nul_in_verification_is_refused(client: TestClient, path: str) -> None:
    answer = client.post(path, files={"file": ("a\x00.pdf", b"%PDF-1.7\n", "application/pdf")})
    assert answer.status_code < 500


def test_a_repeated_form_field_is_refused_not_dropped(client: TestClient) -> None:
    world = make_world(client)
    pdf = sample_permit()
    answer = client.post(
        "/seal/v1/sign",
        headers={"Authorization": f"Bearer {world.token()}"},
        files=[
            ("file", ("a.pdf", pdf, "application/pdf")),
            ("file", ("b.pdf", pdf, "application/pdf")),
        ],
        data={"seal_id": world.seal_id, "anchor": "（盖章）"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:tongxing:problem:repeated-field"
    assert answer.json()["field"] == "file"
    answer = client.post(
        "/seal/v1/verify",
        files=[
            ("file", ("a.pdf", pdf, "application/pdf")),
            ("file", ("b.pdf", pdf, "application/pdf")),
        ],
    )
    assert answer.status_code == 422
    assert world.sealings_logged() == 0
    assert world.uses() == 0
