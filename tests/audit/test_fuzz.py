"""Parsers an attacker can feed (checkpoints, exports, whole logs) fail cleanly, never crash."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import checkpoint, sources
from audit.verifier import verify_log

KEY = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004") + os.urandom(
    64
)  # shaped like a P-256 SPKI, but not a point on the curve


@settings(max_examples=300, deadline=None)
@given(note=st.text(max_size=400))
def test_checkpoint_parser(note: str) -> None:
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.verify(note, origin="o", public_key_der=KEY)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    document=st.fixed_dictionaries(
        {
            "format": st.just(sources.EXPORT_FORMAT),
            "origin": json_values,
            "public_key": json_values,
            "entries": json_values,
            "checkpoints": json_values,
            "leaf_hashes": json_values,
        }
    )
)
def test_export_reader(document: dict[str, object]) -> None:
    try:
        material = sources.from_export(json.dumps(document).encode())
    except sources.SourceError:
        return
    verify_log(
        entries=material.entries,
        checkpoint_notes=material.checkpoints,
        origin=material.origin,
        public_key_der=material.public_key_der,
    )


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(st.tuples(st.integers(0, 20), st.binary(max_size=40)), max_size=20),
    notes=st.lists(st.tuples(st.integers(0, 5), st.text(max_size=80)), max_size=5),
    key=st.binary(max_size=100),
)
def test_verifier_reports_instead_of_raising(
    entries: list[tuple[int, bytes]], notes: list[tuple[int, str]], key: bytes
) -> None:
    report = verify_log(entries=entries, checkpoint_notes=notes, origin="o", public_key_der=key)
    assert isinstance(report.ok, bool)


def test_deeply_nested_leaf_is_just_a_bad_entry() -> None:
    report = verify_log(
        entries=[(0, b"[" * 100_000)], checkpoint_notes=[], origin="o", public_key_der=KEY
    )
    assert not report.ok and report.first_bad_index == 0


def test_export_with_wrong_types() -> None:
    bad = {
        "format": sources.EXPORT_FORMAT,
        "origin": "o",
        "public_key": base64.b64encode(KEY).decode(),
        "entries": [{"index": "0", "leaf": "AA=="}],
        "checkpoints": [],
    }
    with pytest.raises(sources.SourceError, match="integer index"):
        sources.from_export(json.dumps(bad).encode())
