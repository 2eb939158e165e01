"""Mutation fuzzing of real documents, sealed and unsealed: every mutant is refused with a
precise problem or sealed, never a crash; every sealed mutant verifies; a mutant whose
existing seal no longer verifies is refused before anything is counted or logged."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from seal.errors import SealError
from seal.placement import PlacementRequest
from seal.public_verification import report_for
from seal.runtime import SealingService
from seal.sealing import SealingRequest, seal_document
from tests.seal.world import CLIENT_ID, World, make_world
from tongxing.demo_sealing import sample_permit

pytestmark = pytest.mark.slow

MUTANTS_PER_DOCUMENT = 350  # x 3 documents: over 1,000 mutants per storage configuration
EXPECTED_REFUSALS = {
    "not-a-pdf",
    "malformed-pdf",
    "page-out-of-range",
    "invalid-placement",
    "encrypted-pdf",
    "existing-signature-broken",
    "pdf-too-complex",
}


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _request(world: World, *, x: float = 300) -> SealingRequest:
    return SealingRequest(
        seal_id=world.seal_id, placement=PlacementRequest(page=1, x=x, y=150), level="B-B"
    )


def _mutations(rng: random.Random) -> list[Callable[[bytes], bytes]]:
    def set_bytes(data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)

    def flip_bit(data: bytes) -> bytes:
        position = rng.randrange(len(data))
        return (
            data[:position]
            + bytes([data[position] ^ (1 << rng.randrange(8))])
            + data[position + 1 :]
        )

    def delete_span(data: bytes) -> bytes:
        start = rng.randrange(len(data))
        return data[:start] + data[start + rng.randint(1, 64) :]

    def duplicate_span(data: bytes) -> bytes:
        start = rng.randrange(len(data))
        return data[:start] + data[start : start + rng.randint(1, 64)] + data[start:]

    def insert_junk(data: bytes) -> bytes:
        start = rng.randrange(len(data))
        return data[:start] + rng.randbytes(rng.randint(1, 16)) + data[start:]

    def truncate(data: bytes) -> bytes:
        return data[: rng.randrange(1, len(data))]

    def digit_in_number(data: bytes) -> bytes:  # offsets, lengths, counts: the fragile parts
        digits = [i for i in range(len(data)) if 48 <= data[i] <= 57]
        position = rng.choice(digits)
        return data[:position] + bytes([48 + rng.randrange(10)]) + data[position + 1 :]

    return [
        set_bytes,
        flip_bit,
        delete_span,
        duplicate_span,
        insert_junk,
        truncate,
        digit_in_number,
    ]


def test_mutants_of_real_documents_are_refused_or_sealed_and_verify(world: World) -> None:
    service = runtime_of(world.client.app).get(SealingService)
    unsealed = sample_permit()
    once = seal_document(service, client_id=CLIENT_ID, request=_request(world), data=unsealed).data
    twice = seal_document(
        service, client_id=CLIENT_ID, request=_request(world, x=150), data=once
    ).data
    counted = world.uses()
    rng = random.Random(int(os.environ.get("TX_FUZZ_SEED", "20261204")))  # fixed by default
    mutations = _mutations(rng)
    outcomes: Counter[str] = Counter()
    refusals: dict[str, str] = {}  # kind -> the first mutant refused that way
    for base_name, base in (("unsealed", unsealed), ("sealed once", once), ("sealed twice", twice)):
        for index in range(MUTANTS_PER_DOCUMENT):
            mutate = rng.choice(mutations)
            mutant = mutate(base)
            label = f"{base_name} #{index} {mutate.__name__}"
            try:
                result = seal_document(
                    service, client_id=CLIENT_ID, request=_request(world, x=450), data=mutant
                )
            except SealError as exc:
                outcomes[exc.kind] += 1
                refusals.setdefault(exc.kind, label)
                continue
            outcomes["sealed"] += 1
            # The new seal verifies, and no signature it joined fails: nothing tampered with
            # was endorsed. (An earlier signature may read INDETERMINATE when a mutation
            # damaged a certificate in its container, a part that no signature covers.)
            report = report_for(service, result.data)
            *earlier, new = report["signatures"]
            assert new["indication"] == "TOTAL_PASSED", (label, report)
            assert all(s["indication"] != "TOTAL_FAILED" for s in earlier), (label, report)
            assert all(s["integrity"]["intact"] for s in earlier), (label, report)
    assert set(refusals) <= EXPECTED_REFUSALS, refusals
    assert sum(outcomes.values()) >= 1000
    assert outcomes["sealed"] > 50 and outcomes["existing-signature-broken"] > 50, outcomes
    assert world.uses() == counted + outcomes["sealed"]
    assert world.sealings_logged() == counted + outcomes["sealed"]


def test_a_document_whose_seal_was_broken_is_not_sealed_again(world: World) -> None:
    sealed = world.sign(level="B-B")
    assert sealed.status_code == 200
    position = sealed.content.index(b"stream", len(sealed.content) // 10) + 20
    tampered = (
        sealed.content[:position]
        + bytes([sealed.content[position] ^ 0x01])
        + sealed.content[position + 1 :]
    )
    before = (world.uses(), world.sealings_logged())
    answer = world.sign(tampered, anchor=None, page=1, x=450, y=150)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:tongxing:problem:existing-signature-broken"
    assert problem["field"]
    assert (world.uses(), world.sealings_logged()) == before
    # The intact document can still be co-sealed.
    assert world.sign(sealed.content, anchor=None, page=1, x=450, y=150).status_code == 200


def test_a_seal_joins_intact_seals_and_timestamps_but_not_a_later_change(world: World) -> None:
    from tests.seal.test_sign_api import _annotate, _replace_page

    long_term = world.sign(level="B-LTA")  # a signature, its DSS and a document timestamp
    assert long_term.status_code == 200, long_term.text
    again = world.sign(long_term.content, anchor=None, page=1, x=450, y=150, level="B-T")
    assert again.status_code == 200, again.text
    report = world.verify(again.content)
    assert [s["indication"] for s in report["signatures"]] == ["TOTAL_PASSED"] * 2, report

    before = (world.uses(), world.sealings_logged())
    for changed in (_replace_page(long_term.content), _annotate(long_term.content)):
        answer = world.sign(changed, anchor=None, page=1, x=450, y=150)
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"] == "urn:tongxing:problem:existing-signature-broken"
    assert (world.uses(), world.sealings_logged()) == before


def _form_pointing_nowhere(pdf: bytes) -> bytes:
    """A form whose field list refers to an object that does not exist (it reads as null)."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    missing = generic.IndirectObject(9999, 0, writer)
    writer.root[generic.pdf_name("/AcroForm")] = generic.DictionaryObject(
        {generic.pdf_name("/Fields"): generic.ArrayObject([missing])}
    )
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_form_field_list_pointing_nowhere_is_a_malformed_pdf(world: World) -> None:
    answer = world.sign(_form_pointing_nowhere(sample_permit()), anchor=None, page=1, x=300, y=150)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:tongxing:problem:malformed-pdf"
    assert world.sealings_logged() == 0
