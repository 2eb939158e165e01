"""The audit log on SQLite and PostgreSQL: appends in the caller's transaction, checkpoints,
proofs that verify against the signed checkpoint."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit import checkpoint, merkle, repository
from audit.log import AuditLog
from audit.models import AuditCheckpoint, AuditEntry, AuditNode
from tests.audit.stored_log import verify_stored
from tongxing.composition import Domain


def _append(domain: Domain, n: int, *, batch: bool = False) -> list[int]:
    indexes = []
    if batch:
        with domain.audit.database.transaction() as session:
            for i in range(n):
                indexes.append(
                    domain.audit.append(
                        session,
                        type="test.event",
                        actor="tester",
                        subject=f"s{i}",
                        details={"i": i},
                    ).index
                )
        return indexes
    for i in range(n):
        with domain.audit.database.transaction() as session:
            indexes.append(
                domain.audit.append(
                    session, type="test.event", actor="tester", subject=f"s{i}", details={"i": i}
                ).index
            )
    return indexes


def test_key_events_are_in_the_log(domain: Domain) -> None:
    with domain.audit.database.transaction() as session:
        types = session.scalars(select(AuditEntry.type).order_by(AuditEntry.index)).all()
    assert types[0] == "key.generated"
    assert "certificate.issued" in types


def test_appends_are_consecutive_and_checkpointed(domain: Domain) -> None:
    with domain.audit.database.transaction() as session:
        start = repository.tree_size(session)
    assert _append(domain, 3) == [start, start + 1, start + 2]
    assert _append(domain, 4, batch=True) == list(range(start + 3, start + 7))
    with domain.audit.database.transaction() as session:
        latest = repository.latest_checkpoint(session)
        assert latest is not None
        assert latest.tree_size == start + 7
        key = domain.audit.log_key(session)
        assert key is not None
        point = checkpoint.verify(
            latest.note, origin=domain.audit.origin, public_key_der=key.public_key_der
        )
        assert point.root == domain.audit.root(session, start + 7)
        entry = repository.entries(session, start=start + 5, end=start + 6)[0]
        decoded = json.loads(entry.leaf)
        assert decoded["seq"] == start + 5 and decoded["details"] == {"i": 2}
        proof = domain.audit.inclusion_proof(session, index=start + 5, size=start + 7)
        assert merkle.verify_inclusion(
            leaf=merkle.leaf_hash(entry.leaf),
            index=start + 5,
            size=start + 7,
            proof=proof,
            root=point.root,
        )
        earlier = start + 3
        consistency = domain.audit.consistency_proof(session, first=earlier, second=start + 7)
        assert merkle.verify_consistency(
            first=earlier,
            second=start + 7,
            proof=consistency,
            first_root=domain.audit.root(session, earlier),
            second_root=point.root,
        )
        # one checkpoint per committed transaction that appended
        sizes = set(session.scalars(select(AuditCheckpoint.tree_size)).all())
        assert {start + 1, start + 2, start + 3, start + 7} <= sizes
        assert not {start + 4, start + 5, start + 6} & sizes


def test_a_failed_transaction_leaves_no_trace(domain: Domain) -> None:
    with domain.audit.database.transaction() as session:
        size = repository.tree_size(session)
        nodes = session.scalar(select(func.count()).select_from(AuditNode))
        checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint))

    def business_change_that_crashes() -> None:
        with domain.audit.database.transaction() as session:
            domain.audit.append(
                session,
                type="seal.applied",
                actor="client",
                subject="doc",
                details={"sha256": "00"},
            )
            raise RuntimeError("the sealing failed after logging")

    with pytest.raises(RuntimeError):
        business_change_that_crashes()
    with domain.audit.database.transaction() as session:
        assert repository.tree_size(session) == size
        assert session.scalar(select(func.count()).select_from(AuditNode)) == nodes
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == checkpoints
    assert _append(domain, 1) == [size]  # no gap after the rollback


def test_periodic_checkpoint_only_when_stale(domain: Domain) -> None:
    from datetime import timedelta

    assert domain.audit.checkpoint_if_stale(max_age=timedelta(hours=1)) is False
    assert domain.audit.checkpoint_if_stale(max_age=timedelta(seconds=0)) is True


def test_floats_are_refused(domain: Domain) -> None:
    with domain.audit.database.transaction() as session, pytest.raises(TypeError, match="floats"):
        domain.audit.append(session, type="x", actor="a", subject="s", details={"v": 1.5})


def test_a_rejected_entry_claims_no_index(domain: Domain) -> None:
    with domain.audit.database.transaction() as session:
        size = repository.tree_size(session)
        # A careless caller swallows the error and commits anyway.
        with contextlib.suppress(TypeError):
            domain.audit.append(session, type="x", actor="a", subject="s", details={"v": 0.5})
    assert _append(domain, 1) == [size]  # the log is not wedged


def test_a_rolled_back_savepoint_keeps_the_checkpoint_right(domain: Domain) -> None:
    with domain.audit.database.transaction() as session:
        size = repository.tree_size(session)
        domain.audit.append(session, type="kept", actor="a", subject="s", details={})
        savepoint = session.begin_nested()
        domain.audit.append(session, type="undone", actor="a", subject="s", details={})
        savepoint.rollback()
        domain.audit.append(session, type="kept", actor="a", subject="s2", details={})
    with domain.audit.database.reading() as session:
        latest = repository.latest_checkpoint(session)
        assert latest is not None and latest.tree_size == size + 2
        assert latest.root_hash == domain.audit.root(session, size + 2)
        types = [e.type for e in repository.entries(session, start=size, end=size + 5)]
    assert types == ["kept", "kept"]


def _second_process(domain: Domain) -> AuditLog:
    """Another process's log object on the same database (its own remembered key and edge)."""
    return AuditLog(
        database=domain.audit.database,
        custody=domain.audit.custody,
        proposed_origin=domain.audit.proposed_origin,
    )


def _verifies(domain: Domain) -> None:
    report, _, size = verify_stored(domain.audit)
    assert report.ok and report.verified_size == size, report.problems[:3]


def test_two_processes_appending_in_turn_keep_one_tree(domain: Domain) -> None:
    # Each remembers the right edge it committed; the other's appends move the head, so
    # neither reuses an edge that is not the stored one.
    logs = [domain.audit, _second_process(domain)]
    for i in range(9):
        with domain.audit.database.transaction() as session:
            logs[i * i % 2].append(session, type="t", actor="a", subject=str(i), details={})
    _verifies(domain)


def test_a_savepoint_released_in_a_transaction_rolled_back_is_not_remembered(
    domain: Domain,
) -> None:
    # Only what the database committed may be remembered: SQLAlchemy reports a released
    # savepoint as a commit too.
    other = _second_process(domain)
    with contextlib.suppress(RuntimeError), domain.audit.database.transaction() as session:
        with session.begin_nested():
            domain.audit.append(session, type="undone", actor="a", subject="s", details={})
        raise RuntimeError("rolled back")
    with domain.audit.database.transaction() as session:  # the same index, another entry
        other.append(session, type="t", actor="b", subject="s", details={})
    with domain.audit.database.transaction() as session:
        domain.audit.append(session, type="t", actor="a", subject="s", details={})
    _verifies(domain)


def test_flushes_between_appends_keep_the_checkpoint_right(domain: Domain) -> None:
    # A flush ends a subtransaction of its own: the right edge cached for the checkpoint
    # survives it (nothing was undone), and the checkpoint signed at commit is still right.
    with domain.audit.database.transaction() as session:
        size = repository.tree_size(session)
        for i in range(3):
            domain.audit.append(session, type="t", actor="a", subject=str(i), details={})
            session.flush()
            repository.tree_size(session)
    with domain.audit.database.reading() as session:
        latest = repository.latest_checkpoint(session)
        assert latest is not None and latest.tree_size == size + 3
        assert latest.root_hash == domain.audit.root(session, size + 3)


def test_concurrent_writers_on_sqlite_wait_instead_of_failing(tmp_path: Path) -> None:
    from core.database import Database
    from tests.pki import key_settings, opened_domain
    from tongxing import migrate

    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    migrate.upgrade(Database(url))
    with opened_domain(key_settings(database_url=url, data_dir=tmp_path)) as domain:
        _write_concurrently(domain)


def _write_concurrently(domain: Domain) -> None:
    import threading

    errors: list[Exception] = []

    def writer(tag: str) -> None:
        for i in range(20):
            try:
                with domain.audit.database.transaction() as session:
                    repository.tree_size(session)  # read first, then write
                    domain.audit.append(session, type="t", actor=tag, subject=str(i), details={})
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
