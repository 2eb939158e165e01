"""The limits that keep one hostile document from tying up the service: the anchor search's
time budget, the signatures and revisions a verification looks at, the cross-page seal's
page count."""

from __future__ import annotations

import time
from io import BytesIO

import pypdf
import pytest
from fastapi.testclient import TestClient
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
)

from seal.anchor import AnchorBudgetExceeded, find_anchor
from seal.verification import MAX_REVISIONS
from tests.seal.world import World, make_world
from tongxing.demo_sealing import sample_permit


def _form_bomb(forms: int = 300, runs: int = 200) -> bytes:
    """One page drawing one text-showing form XObject ``forms`` times: 7 KB to send, about
    4 s of text extraction here; and the budget's exception is raised inside forms, where
    pypdf swallows errors."""
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/H"): writer._add_object(font)})
    form = DecodedStreamObject()
    form.set_data(b"BT /H 1 Tf (a) Tj ET\n" * runs)
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([NumberObject(n) for n in (0, 0, 10, 10)]),
            NameObject("/Resources"): DictionaryObject({NameObject("/Font"): fonts}),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/XObject"): DictionaryObject({NameObject("/F"): writer._add_object(form)}),
            NameObject("/Font"): fonts,
        }
    )
    content = DecodedStreamObject()
    content.set_data(b"/F Do\n" * forms)
    page[NameObject("/Contents")] = writer._add_object(content)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_anchor_search_stops_at_its_budget_even_inside_forms() -> None:
    bomb = _form_bomb()  # built before the clock starts: only the search is timed
    started = time.thread_time()
    with pytest.raises(AnchorBudgetExceeded):
        find_anchor(bomb, "（盖章）", seconds=0.2)
    # Unbounded, this page takes about 4 s of CPU; with the 0.2 s budget well under a second.
    # CPU time, which a loaded machine does not stretch the way it stretches the wall clock.
    assert time.thread_time() - started < 1.5


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _many_revisions(pdf: bytes, count: int) -> bytes:
    for index in range(count):
        writer = pypdf.PdfWriter(BytesIO(pdf), incremental=True)
        writer.add_metadata({"/Subject": f"revision {index}"})
        out = BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    return pdf


def test_verification_and_cross_page_limits(world: World) -> None:
    sealed = world.sign().content
    bloated = _many_revisions(sealed, MAX_REVISIONS)
    answer = world.client.post(
        "/seal/v1/verify", files={"file": ("s.pdf", bloated, "application/pdf")}
    )
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:tongxing:problem:pdf-too-complex"

    long_document = world.sign(sample_permit(pages=61), cross_page="true")
    assert long_document.status_code == 422
    assert "at most 60 pages" in long_document.json()["detail"]
    assert world.sealings_logged() == 1
