"""The precomputed-layout QR encoder makes, module for module, the symbol segno makes (level
M, mask 0, no error boost) for every text it accepts, and leaves the rest to segno."""

from __future__ import annotations

import random
import string

import pytest
import segno

from seal import qr, qr_code

URL_CHARACTERS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%"


def _segno(text: str) -> list[list[bool]]:
    code = segno.make(text, error="m", micro=False, boost_error=False, mask=0)
    return [[bool(cell) for cell in row] for row in code.matrix]


def test_every_length_of_every_version_matches_segno() -> None:
    chosen = random.Random(18004)
    versions = set()
    for length in range(1, 107):  # up to version 6's byte capacity at level M, and past it
        for _ in range(3):
            text = "".join(chosen.choice(URL_CHARACTERS) for _ in range(length))
            if all(c in qr_code._ALPHANUMERIC for c in text):
                continue
            ours = qr_code.matrix(text)
            assert ours is not None, text
            assert ours == _segno(text), text
            versions.add((len(ours) - 17) // 4)
    assert versions == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/v/doc_0123456789abcdefghijkl",
        "https://tongxing.gov.example.cn/v/doc_ZZZZZZZZZZZZZZZZZZZZZZ",
        "https://a.example/v/d",
    ],
)
def test_verification_links_match_segno(url: str) -> None:
    assert qr_code.matrix(url) == _segno(url)
    assert qr.qr_matrix(url) == _segno(url)


@pytest.mark.parametrize(
    "text",
    [
        "HTTPS://UPPER.EXAMPLE/V/1",  # the alphanumeric mode encodes it smaller
        "0123456789",  # the numeric mode
        "https://例子.example/v/doc_1",  # not ASCII
        "https://a.example/v/" + "x" * 100,  # past version 6
    ],
)
def test_other_texts_are_left_to_segno(text: str) -> None:
    assert qr_code.matrix(text) is None
    assert qr.qr_matrix(text) == _segno(text)
