"""The ``/verify`` page people use: upload with a CSRF token, arrive from the QR code, read
the result in Chinese or English."""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from core.settings import Settings
from seal import public_verification
from tests.seal.world import World, make_world
from tongxing import create_app
from tongxing.demo_sealing import sample_permit


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
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The budget counts per clock minute: held mid-minute, no boundary falls between the calls.
    mid_minute = types.SimpleNamespace(time=lambda: 60.0 * 29_500_000 + 30)
    monkeypatch.setattr(public_verification, "time", mid_minute)
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


def _upload(client: TestClient, pdf: bytes, *, lang: str, document: str = "") -> Response:
    form = client.get(f"/verify?lang={lang}")
    return client.post(
        f"/verify?lang={lang}",
        data={"csrf_token": _token(form.text), **({"document": document} if document else {})},
        files={"file": ("permit.pdf", pdf, "application/pdf")},
    )


def _alert(page: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', page)
    assert found, page
    return found.group(1)


def test_upload_errors_speak_the_page_language(
    make_settings: Callable[..., Settings],
) -> None:
    """A non-PDF, an empty file, a file over the limit: a plain sentence in the page's
    language, never the API's English developer text."""
    with TestClient(create_app(make_settings(seal_max_pdf_bytes=2048))) as client:
        big = sample_permit()
        assert len(big) > 2048
        cases = {"not a pdf": b"hello", "empty": b"", "too large": big}
        expected = {
            "zh-CN": {
                "not a pdf": (415, "上传的文件不是 PDF 文件。请选择盖章后的 PDF 文件。"),
                "empty": (415, "上传的文件是空的。请选择盖章后的 PDF 文件。"),
                "too large": (413, "文件太大，最大允许 2 KB。"),
            },
            "en": {
                "not a pdf": (415, "The uploaded file is not a PDF. Please choose the sealed PDF."),
                "empty": (415, "The uploaded file is empty. Please choose the sealed PDF."),
                "too large": (413, "The file is too large: at most 2 KB."),
            },
        }
        for lang, answers in expected.items():
            for case, (status, text) in answers.items():
                answer = _upload(client, cases[case], lang=lang)
                assert (answer.status_code, _alert(answer.text)) == (status, text), (lang, case)
                assert "PDF header" not in answer.text and "bytes" not in answer.text


def test_a_pdf_without_seals_says_so_in_words(world: World) -> None:
    chinese = _upload(world.client, sample_permit(), lang="zh-CN")
    assert chinese.status_code == 200
    assert "验证结果: <span" in chinese.text and "无法确定" in chinese.text
    assert "这个 PDF 文件中没有电子印章" in chinese.text
    english = _upload(world.client, sample_permit(), lang="en")
    assert "Cannot be determined" in english.text and "carries no electronic seal" in english.text
    assert "SIGNED_DATA_NOT_FOUND" in english.text  # as technical detail, after the words
    assert english.text.index("carries no electronic seal") < english.text.index(
        "SIGNED_DATA_NOT_FOUND"
    )


def _beijing(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def test_times_read_in_beijing_time_and_the_verdict_comes_first(world: World) -> None:
    sealed = world.sign().content
    report = world.verify(sealed)
    (signature,) = report["signatures"]
    times = [signature["signing_time"], signature["timestamp"]["time"]]
    document_id = signature["document_id"]
    record = world.client.get(f"/seal/v1/documents/{document_id}").json()
    times.append(record["sealed_at"])
    for lang, zone in (("zh-CN", "北京时间（UTC+8）"), ("en", "Beijing time (UTC+8)")):
        page = _upload(world.client, sealed, lang=lang, document=document_id).text
        for iso in times:
            assert f"{_beijing(iso)} {zone}" in page, (lang, iso)
        # No time is shown in UTC or without its zone.
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page)
        shown = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( [^<]*)?<", page)
        assert shown and all(zone in s for s in shown), shown
        verdict = "有效" if lang == "zh-CN" else "Valid"
        assert page.index(f'TOTAL_PASSED">{verdict}</span>') < page.index(
            "<code>TOTAL_PASSED</code>"
        )
    chinese = _upload(world.client, sealed, lang="zh-CN").text
    assert "印章有效：文件自盖章后未被篡改" in chinese  # the one plain sentence why


def test_a_tampered_document_shows_no_rows_that_mislead(world: World) -> None:
    sealed = world.sign().content
    position = sealed.index(b"stream", len(sealed) // 10) + 20  # inside the page's stream
    tampered = sealed[:position] + bytes([sealed[position] ^ 0x01]) + sealed[position + 1 :]
    assert world.verify(tampered)["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    chinese = _upload(world.client, tampered, lang="zh-CN").text
    assert "无效" in chinese and "文件内容在盖章后被改动，与印章不符" in chinese
    assert "证书状态" not in chinese and "无法确认" not in chinese
    assert "<dt>盖章后的修改</dt><dd>无</dd>" not in chinese
    assert "审计日志" not in chinese and "可信时间戳" not in chinese
    english = _upload(world.client, tampered, lang="en").text
    assert "Not valid" in english and "changed after sealing and no longer matches" in english
    assert "Certificate status" not in english and "cannot be confirmed" not in english
    assert "<dd>none</dd>" not in english
    assert "TOTAL_FAILED / HASH_FAILURE" in english  # the technical detail stays


def test_the_short_link_redirects_only_document_ids(client: TestClient) -> None:
    document_id = "doc_" + "0123456789abcdef01234567"
    hop = client.get(f"/v/{document_id}", follow_redirects=False)
    assert hop.status_code == 302 and hop.headers["location"] == f"/verify?document={document_id}"
    assert client.get(f"/v/{document_id}").status_code == 404  # the page: no such record
    for garbage in (
        "doc_0123456789ABCDEF01234567",  # upper case is not what we issue
        "doc_0123456789abcdef0123456",
        "doc_0123456789abcdef012345678",
        "doc_0123456789abcdef0123456%0A",
        "doc_" + "a" * 5000,
        "%2F%2Fevil.example",
        "..%2F..%2Fadmin",
        "%E7%9B%96%E7%AB%A0",
        "doc_0123456789abcdef01234567%00",
    ):
        refused = client.get(f"/v/{garbage}", follow_redirects=False)
        assert refused.status_code == 404, garbage
        assert refused.headers["content-type"] == "application/problem+json", garbage
        # A slash in the id (%2F) does not even reach the route: the generic 404 problem.
        kind = "not-found" if "%2F" in garbage else "unknown-document"
        assert refused.json()["type"] == f"urn:tongxing:problem:{kind}", garbage
