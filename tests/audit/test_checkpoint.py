"""Checkpoints as signed notes: round trip, and every way a forgery is caught."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from audit import checkpoint
from keys.algorithms import KeyAlgorithm
from keys.envelope import KeyEncryptionKey
from keys.stores.software import SoftwareKeyStore

STORE = SoftwareKeyStore(KeyEncryptionKey(os.urandom(32), salt=os.urandom(32)))
_, KEY = STORE.generate(key_id="log", algorithm=KeyAlgorithm.ES256)
_, OTHER = STORE.generate(key_id="other", algorithm=KeyAlgorithm.ES256)
ORIGIN = "id.example.gov.cn/audit"
POINT = checkpoint.Checkpoint(
    origin=ORIGIN, size=42, root=os.urandom(32), time=datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
)


def test_round_trip_and_format() -> None:
    note = checkpoint.sign(POINT, KEY)
    lines = note.split("\n")
    assert lines[:2] == [ORIGIN, "42"]
    assert lines[3] == "time 2026-11-28T12:00:00Z"
    assert lines[4] == ""
    assert lines[5].startswith(f"\u2014 {ORIGIN} ")
    assert checkpoint.verify(note, origin=ORIGIN, public_key_der=KEY.public_key_der) == POINT


def test_altered_text_wrong_key_wrong_origin() -> None:
    note = checkpoint.sign(POINT, KEY)
    with pytest.raises(checkpoint.CheckpointError, match="does not verify"):
        checkpoint.verify(
            note.replace("\n42\n", "\n43\n"), origin=ORIGIN, public_key_der=KEY.public_key_der
        )
    with pytest.raises(checkpoint.CheckpointError, match="not signed by the log key"):
        checkpoint.verify(note, origin=ORIGIN, public_key_der=OTHER.public_key_der)
    with pytest.raises(checkpoint.CheckpointError, match="origin"):
        checkpoint.verify(note, origin="elsewhere/audit", public_key_der=KEY.public_key_der)
    forged = checkpoint.sign(POINT, OTHER)
    with pytest.raises(checkpoint.CheckpointError, match="not signed by the log key"):
        checkpoint.verify(forged, origin=ORIGIN, public_key_der=KEY.public_key_der)


def test_other_signatures_are_ignored() -> None:
    note = checkpoint.sign(POINT, KEY)
    cosigned = note + checkpoint.sign(POINT, OTHER).split("\n\n")[1].replace(
        ORIGIN, "witness.example"
    )
    assert checkpoint.verify(cosigned, origin=ORIGIN, public_key_der=KEY.public_key_der) == POINT


@pytest.mark.parametrize(
    "note",
    [
        "",
        "just text",
        "o\n1\nnot-base64!!\n\n\u2014 o AAAA\n",
        "o\n01\nAAAA\n\n\u2014 o AAAA\n",
        "o\n1\n" + "A" * 44 + "\n\nno dash\n",
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.verify(note, origin="o", public_key_der=KEY.public_key_der)
