"""Chinese identifiers with check characters: the resident identity number (GB 11643-1999)
and the unified social credit code of organisations (GB 32100-2015).

Validation rejects typos before they reach the database; it does not prove that the number
was issued (that is what the assurance level records).
"""

from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class InvalidIdentifier(ValueError):
    """The identifier is malformed or its check character is wrong."""


def normalise_national_id(value: str) -> str:
    """An 18-character resident identity number, upper-case, validated."""
    number = value.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InvalidIdentifier("a resident identity number has 17 digits and a check character")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("the birth date in the identity number is not a date") from None
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        raise InvalidIdentifier("the identity number's check character is wrong")
    return number


def mask_national_id(number: str) -> str:
    """Shown to people: the first three and last four characters."""
    return f"{number[:3]}{'*' * 11}{number[-4:]}"


def normalise_uscc(value: str) -> str:
    """An 18-character unified social credit code, upper-case, validated."""
    code = value.strip().upper()
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        raise InvalidIdentifier(
            "a unified social credit code has 18 characters from 0-9 and A-Y without I, O, Z, S, V"
        )
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    if _USCC_ALPHABET[(31 - total % 31) % 31] != code[17]:
        raise InvalidIdentifier("the unified social credit code's check character is wrong")
    return code
