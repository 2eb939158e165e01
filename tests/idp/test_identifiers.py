"""Resident identity numbers and unified social credit codes: check characters."""

from __future__ import annotations

import pytest

from idp.identifiers import (
    InvalidIdentifier,
    mask_national_id,
    normalise_national_id,
    normalise_uscc,
)


def test_textbook_examples() -> None:
    assert normalise_national_id(" 11010519491231002x ") == "11010519491231002X"
    assert mask_national_id("11010519491231002X") == "110***********002X"
    assert normalise_uscc("91350100m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11010519491231002", "17 digits"),
        ("110105194912310021", "check character"),
        ("11010519491331002X", "not a date"),
        ("1101051949123100XX", "17 digits"),
    ],
)
def test_bad_identity_numbers(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        normalise_national_id(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100I43", "18 characters"),
    ],
)
def test_bad_credit_codes(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        normalise_uscc(value)
