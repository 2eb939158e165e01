"""Tampering with the stored log on a real database: each kind is caught and located."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from audit import checkpoint, repository, sources
from audit.verifier import VerifyReport, verify_log
from keys.algorithms import KeyAlgorithm
from keys.envelope import KeyEncryptionKey
from keys.stores.software import SoftwareKeyStore
from tongxing.composition import Domain


@pytest.fixture
def logged(domain: Domain) -> Domain:
    """A log with ten more entries, each in its own transaction (so its own checkpoint)."""
    for i in range(10):
        with domain.audit.database.transaction() as session:
            domain.audit.append(
                session,
                type="seal.applied",
                actor="client-a",
                subject=f"doc-{i}",
                details={"sha256": f"{i:064x}"},
            )
    return domain


def _verify(domain: Domain, trusted: str | None = None) -> VerifyReport:
    with domain.audit.database.transaction() as session:
        material = sources.from_database(session, origin=domain.audit.origin)
    return verify_log(
        entries=material.entries,
        checkpoint_notes=material.checkpoints,
        origin=material.origin,
        public_key_der=material.public_key_der,
        stored_leaf_hashes=material.leaf_hashes,
        trusted_note=trusted,
    )


def _sql(domain: Domain, statement: str, **params: object) -> None:
    with domain.audit.database.engine.begin() as connection:
        connection.execute(text(statement), params)


def _size(domain: Domain) -> int:
    with domain.audit.database.transaction() as session:
        return repository.tree_size(session)


def test_untouched_log_verifies(logged: Domain) -> None:
    report = _verify(logged)
    assert report.ok, report.problems
    assert report.verified_size == report.entries == _size(logged)


def _leaf(domain: Domain, index: int) -> bytes:
    with domain.audit.database.transaction() as session:
        return bytes(repository.entries(session, start=index, end=index + 1)[0].leaf)


TAMPERS: dict[str, Callable[[Domain, int], int]] = {}


def tamper(name: str) -> Callable[[Callable[[Domain, int], int]], Callable[[Domain, int], int]]:
    def register(function: Callable[[Domain, int], int]) -> Callable[[Domain, int], int]:
        TAMPERS[name] = function
        return function

    return register


@tamper("edit a row")
def _edit(domain: Domain, size: int) -> int:
    victim = size - 6
    changed = _leaf(domain, victim).replace(b"client-a", b"client-b")
    _sql(domain, 'UPDATE audit_entries SET leaf = :leaf WHERE "index" = :i', leaf=changed, i=victim)
    return victim


@tamper("delete a row")
def _delete(domain: Domain, size: int) -> int:
    victim = size - 4
    _sql(domain, 'DELETE FROM audit_entries WHERE "index" = :i', i=victim)
    return victim


@tamper("reorder rows")
def _reorder(domain: Domain, size: int) -> int:
    first, second = size - 8, size - 7
    a, b = _leaf(domain, first), _leaf(domain, second)
    _sql(domain, 'UPDATE audit_entries SET leaf = :leaf WHERE "index" = :i', leaf=b, i=first)
    _sql(domain, 'UPDATE audit_entries SET leaf = :leaf WHERE "index" = :i', leaf=a, i=second)
    return first


@tamper("truncate the log")
def _truncate(domain: Domain, size: int) -> int:
    _sql(domain, 'DELETE FROM audit_entries WHERE "index" >= :i', i=size - 3)
    return size - 3


@tamper("edit a row and its stored hashes")
def _edit_deep(domain: Domain, size: int) -> int:
    victim = size - 5
    changed = _leaf(domain, victim).replace(b"seal.applied", b"seal.revoked")
    _sql(domain, 'UPDATE audit_entries SET leaf = :leaf WHERE "index" = :i', leaf=changed, i=victim)
    _sql(domain, "DELETE FROM audit_nodes")  # the verifier must not rely on them
    return victim


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampering_is_caught_and_located(logged: Domain, name: str) -> None:
    victim = TAMPERS[name](logged, _size(logged))
    report = _verify(logged)
    assert not report.ok
    assert report.first_bad_index == victim, report.problems


def test_forged_checkpoint(logged: Domain) -> None:
    store = SoftwareKeyStore(
        KeyEncryptionKey(b"attacker key material, long enough", salt=b"s" * 32)
    )
    _, attacker = store.generate(key_id="evil", algorithm=KeyAlgorithm.ES256)
    with logged.audit.database.transaction() as session:
        latest = repository.latest_checkpoint(session)
        assert latest is not None
        point = checkpoint.parse(latest.note)[0]
    forged = checkpoint.sign(
        checkpoint.Checkpoint(
            origin=point.origin, size=point.size, root=b"\x11" * 32, time=point.time
        ),
        attacker,
    )
    _sql(
        logged,
        "UPDATE audit_checkpoints SET note = :note WHERE id = :id",
        note=forged,
        id=latest.id,
    )
    report = _verify(logged)
    assert not report.ok
    assert f"checkpoint #{latest.id} is not genuine" in report.problems[0]


def test_an_operator_rewriting_history_is_caught_by_the_auditors_checkpoint(
    logged: Domain,
) -> None:
    before = _verify(logged)
    assert before.ok and before.latest_note
    size = _size(logged)
    # The operator (who holds the log key) drops the last entries, every checkpoint, and
    # signs a fresh, internally consistent history.
    _sql(logged, 'DELETE FROM audit_entries WHERE "index" >= :i', i=size - 2)
    _sql(logged, "DELETE FROM audit_checkpoints")
    _sql(logged, "UPDATE audit_head SET tree_size = :n", n=size - 2)
    from datetime import timedelta

    logged.audit.checkpoint_if_stale(max_age=timedelta(0))
    assert _verify(logged).ok  # consistent on its own...
    caught = _verify(logged, trusted=before.latest_note)
    assert not caught.ok  # ...but not with what the auditor saw before
    assert "truncated" in " ".join(caught.problems)
