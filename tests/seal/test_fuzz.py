"""The upload path against a corpus of malformed PDFs: every one gets a precise refusal (or,
if it still is a PDF, a seal), never a crash, and a refusal leaves no trace."""

from __future__ import annotations

import random
import zlib

import pytest
from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from seal.errors import SealError
from seal.placement import PlacementRequest
from seal.runtime import SealingService
from seal.sealing import SealingRequest, seal_document
from tests.seal.world import CLIENT_ID, World, make_world
from tongxing.demo_sealing import sample_permit


def corpus() -> list[tuple[str, bytes]]:
    """Malformed PDFs: truncations, flipped bytes, broken structure, hostile nesting."""
    good = sample_permit()
    rng = random.Random(20261128)  # fixed: a failure is reproducible
    cases: list[tuple[str, bytes]] = [
        ("empty", b""),
        ("header only", b"%PDF-1.7\n"),
        ("header and eof", b"%PDF-1.7\n%%EOF\n"),
        ("header damaged", b"%PFD-" + good[5:]),  # not left to the random mutations below
        ("no startxref", good.replace(b"startxref", b"startxrex")),
        (
            "startxref points nowhere",
            good[: good.rindex(b"startxref")] + b"startxref\n999999999\n%%EOF\n",
        ),
        ("xref garbage", good.replace(b"xref\n", b"xref\nthis is not a table\n", 1)),
        ("no root", good.replace(b"/Root", b"/Rooo")),
        ("no pages", good.replace(b"/Pages", b"/Pagez")),
        ("page count lies", good.replace(b"/Count 1", b"/Count 99")),
        ("negative count", good.replace(b"/Count 1", b"/Count -1")),
        ("kids not a list", good.replace(b"/Kids [", b"/Kids (", 1)),
        ("unterminated dictionary", good.replace(b">>", b"", 3)),
        (
            "compressed junk stream",
            good.replace(b"stream\n", b"stream\n" + zlib.compress(b"x") * 3, 1),
        ),
        ("deep nesting", b"%PDF-1.7\n1 0 obj\n" + b"[" * 5000 + b"\nendobj\n%%EOF\n"),
        ("pdf header inside png", b"\x89PNG\r\n\x1a\n%PDF-1.7 " + good[9:200]),
    ]
    for fraction in (0.1, 0.33, 0.5, 0.9, 0.99):
        cases.append((f"truncated at {fraction}", good[: int(len(good) * fraction)]))
    for index in range(40):
        data = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(data))
            data[position] = rng.randrange(256)
        cases.append((f"mutation {index}", bytes(data)))
    for index in range(10):
        start = rng.randrange(len(good))
        cases.append((f"spliced {index}", good[:start] + good[start + rng.randint(1, 400) :]))
    return cases


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def test_malformed_pdfs_are_refused_precisely_and_leave_no_trace(world: World) -> None:
    service = runtime_of(world.client.app).get(SealingService)
    request = SealingRequest(
        seal_id=world.seal_id,
        placement=PlacementRequest(page=1, x=300, y=150),
        level="B-B",
    )
    sealed, refusals = 0, dict[str, int]()
    for _name, data in corpus():
        try:
            seal_document(service, client_id=CLIENT_ID, request=request, data=data)
        except SealError as exc:
            refusals[exc.kind] = refusals.get(exc.kind, 0) + 1
            continue
        sealed += 1  # a mutation that left a readable PDF: sealing it is correct
    assert set(refusals) <= {
        "not-a-pdf",
        "malformed-pdf",
        "page-out-of-range",
        "invalid-placement",
        "encrypted-pdf",
    }, refusals
    assert refusals["malformed-pdf"] > 10 and refusals["not-a-pdf"] >= 2
    assert world.sealings_logged() == sealed and world.uses() == sealed

    # The same over HTTP for a sample: problem documents, never a 500.
    for name, data in corpus()[:20]:
        answer = world.sign(data, anchor=None, page=1, x=300, y=150, level="B-B")
        assert answer.status_code != 500, name
        if answer.status_code != 200:
            assert answer.headers["content-type"] == "application/problem+json", name


def test_malformed_pdfs_get_a_clean_verification_answer(world: World) -> None:
    for name, data in corpus()[:30]:
        answer = world.client.post(
            "/seal/v1/verify", files={"file": ("x.pdf", data, "application/pdf")}
        )
        assert answer.status_code in (200, 415, 422), (name, answer.text)
