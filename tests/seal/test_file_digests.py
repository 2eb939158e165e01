"""The file digests a sealing logs are what ``sha256sum`` prints for each file."""

from __future__ import annotations

import hashlib

from seal.sealing import file_digests
from tongxing.demo_sealing import sample_permit


def test_digests_of_an_incremental_update_and_of_anything_else() -> None:
    original = sample_permit()
    for sealed in (original + b"\n% an incremental update\n", b"%PDF-1.7 rewritten"):
        assert file_digests(original, sealed) == (
            hashlib.sha256(original).hexdigest(),
            hashlib.sha256(sealed).hexdigest(),
        )
