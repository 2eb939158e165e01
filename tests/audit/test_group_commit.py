"""Group commit on SQLite and PostgreSQL: units in flight share one transaction and one
checkpoint, each is acknowledged only once committed, and a failing unit loses nobody else's
entry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit import repository
from audit.group_commit import GroupCommit
from audit.models import AuditCheckpoint, AuditEntry, AuditNode
from core.database import Database
from tests.audit.stored_log import verify_stored
from tongxing.composition import Domain


def _appending(domain: Domain, tag: str, then: Callable[[Session], Any] | None = None) -> Any:
    def work(session: Session) -> int:
        index = domain.audit.append(
            session, type="test.group", actor="tester", subject=tag, details={"tag": tag}
        ).index
        if then is not None:
            then(session)
        return index

    return work


def _size(domain: Domain) -> int:
    with domain.audit.database.transaction() as session:
        return repository.tree_size(session)


def _checkpoints(domain: Domain) -> int:
    with domain.audit.database.reading() as session:
        return len(session.scalars(select(AuditCheckpoint.id)).all())


def _assert_log_verifies(domain: Domain) -> None:
    report, material, size = verify_stored(domain.audit)
    assert [i for i, _ in material.entries] == list(range(size))  # no gap, no fork
    assert report.ok, report.problems[:3]
    assert report.verified_size == size


def _wait_for(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds (a state other threads reach, not a duration)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the other threads never got there"
        time.sleep(0.001)


def _group_of(group: GroupCommit, works: list[Callable[[Session], Any]]) -> list[tuple[str, Any]]:
    """Run ``works`` as one group: a first unit is held before its transaction begins until
    all of them are queued behind it, so they form the next group together. Returns, per
    work, ("ok", result) or ("error", exception)."""
    holding, release = threading.Event(), threading.Event()
    commit = group._commit

    def held_first(units: list[Any]) -> None:
        if not holding.is_set():
            holding.set()
            assert release.wait(30)
        commit(units)

    group._commit = held_first  # type: ignore[method-assign]
    outcomes: list[tuple[str, Any]] = [("pending", None)] * len(works)

    def call(position: int, work: Callable[[Session], Any]) -> None:
        try:
            outcomes[position] = ("ok", group.run(work))
        except Exception as exc:
            outcomes[position] = ("error", exc)

    opener = threading.Thread(target=group.run, args=(lambda _session: None,))
    opener.start()
    assert holding.wait(30)
    threads = [
        threading.Thread(target=call, args=(position, work)) for position, work in enumerate(works)
    ]
    for thread in threads:
        thread.start()
    _wait_for(lambda: group.queued == len(works))
    release.set()
    for thread in [opener, *threads]:
        thread.join(60)
    group._commit = commit  # type: ignore[method-assign]
    return outcomes


def test_units_in_flight_share_one_commit_and_are_acknowledged_only_after_it(
    domain: Domain,
) -> None:
    group = GroupCommit(domain.audit)
    start, checkpoints = _size(domain), _checkpoints(domain)
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    observer = Database(domain.audit.database.url)  # another connection pool: committed only

    def committed_then_returned(tag: str) -> Callable[[Session], Any]:
        def note_commit(session: Session) -> None:
            @event.listens_for(session, "after_commit")
            def _committed(_: Session) -> None:
                with lock:
                    seen.append(("commit", tag))

        work = _appending(domain, tag, then=note_commit)

        def acknowledged(session: Session) -> int:
            return int(work(session))

        return acknowledged

    tags = [f"unit-{i}" for i in range(12)]
    outcomes = _group_of(group, [committed_then_returned(tag) for tag in tags])

    assert [kind for kind, _ in outcomes] == ["ok"] * 12
    indexes = [result for _, result in outcomes]
    assert sorted(indexes) == list(range(start, start + 12))
    assert (group.groups, group.units) == (2, 13)  # the opener alone, then the 12 together
    assert _checkpoints(domain) == checkpoints + 1  # one signature for the 12
    with observer.reading() as session:  # each acknowledged entry is there for anyone
        stored = dict(
            session.execute(
                select(AuditEntry.index, AuditEntry.subject).where(AuditEntry.index >= start)
            ).all()
        )
    observer.dispose()
    assert {stored[index] for index in indexes} == set(tags)
    for tag in tags:  # the commit happened before the unit's caller got its answer
        assert ("commit", tag) in seen
    _assert_log_verifies(domain)


def test_a_failing_unit_loses_nothing_of_the_others(domain: Domain) -> None:
    group = GroupCommit(domain.audit)
    start = _size(domain)

    def refuse(session: Session) -> None:
        raise ValueError("refused after appending")

    def collide(session: Session) -> None:
        session.add(AuditNode(level=0, index=0, hash=b"\0" * 32))  # exists: fails at flush

    works = [
        _appending(domain, "first"),
        _appending(domain, "refused", then=refuse),
        _appending(domain, "second"),
        _appending(domain, "collides", then=collide),
        _appending(domain, "third"),
    ]
    outcomes = _group_of(group, works)

    assert outcomes[1][0] == "error" and isinstance(outcomes[1][1], ValueError)
    assert outcomes[3][0] == "error" and isinstance(outcomes[3][1], IntegrityError)
    kept = [outcomes[i] for i in (0, 2, 4)]
    assert kept == [("ok", start), ("ok", start + 1), ("ok", start + 2)]
    with domain.audit.database.reading() as session:
        subjects = session.scalars(
            select(AuditEntry.subject).where(AuditEntry.index >= start).order_by(AuditEntry.index)
        ).all()
    assert subjects == ["first", "second", "third"]
    _assert_log_verifies(domain)


def test_a_failed_commit_acknowledges_nobody_and_leaves_no_gap(domain: Domain) -> None:
    group = GroupCommit(domain.audit)
    start = _size(domain)

    def break_commit(session: Session) -> None:
        @event.listens_for(session, "before_commit")
        def _fail(_: Session) -> None:
            raise RuntimeError("the disk is full")

    works = [_appending(domain, "a"), _appending(domain, "b", then=break_commit)]
    outcomes = _group_of(group, works)

    assert [kind for kind, _ in outcomes] == ["error", "error"]
    assert all("the disk is full" in str(error) for _, error in outcomes)
    assert _size(domain) == start
    assert group.run(_appending(domain, "after")) == start  # the next index, no gap
    _assert_log_verifies(domain)


@pytest.mark.parametrize("with_another", [True, False], ids=["in-a-group", "alone"])
def test_a_unit_waiting_on_a_row_lock_runs_alone_instead_of_deadlocking(
    domain: Domain, with_another: bool
) -> None:
    """A group (of two, or of one) holds the head lock while a unit wants a row that another
    writer locked before asking for the head lock: the unit gives up waiting, the group
    commits without it, the writer appends, and the unit runs again in a transaction of its
    own."""
    database = domain.audit.database
    if database.is_sqlite:
        pytest.skip("SQLite has no row locks: a writer holds the whole database")
    group = GroupCommit(domain.audit)
    with database.reading() as session:
        row = session.scalars(select(AuditCheckpoint.id).limit(1)).one()
    writer_locked, group_holds_head = threading.Event(), threading.Event()
    runs: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with database.transaction() as session:
                session.execute(
                    update(AuditCheckpoint)
                    .where(AuditCheckpoint.id == row)
                    .values(note=AuditCheckpoint.note)
                )
                writer_locked.set()
                assert group_holds_head.wait(30)
                domain.audit.append(
                    session, type="test.group", actor="tester", subject="writer", details={}
                )
        except BaseException as exc:
            failures.append(exc)

    def unit(session: Session) -> int:
        runs.append(1)
        group_holds_head.set()
        session.execute(
            text("UPDATE audit_checkpoints SET note = note WHERE id = :id"), {"id": row}
        )
        return int(_appending(domain, "unit")(session))

    thread = threading.Thread(target=writer)
    thread.start()
    assert writer_locked.wait(30)
    if with_another:
        outcomes = _group_of(group, [unit, _appending(domain, "other")])
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        index = outcomes[0][1]
    else:
        index = group.run(unit)
    thread.join(60)

    assert not failures, failures
    assert len(runs) == 2  # gave up the wait once, then ran alone after the writer
    with database.reading() as session:
        subjects = session.scalars(
            select(AuditEntry.subject).where(AuditEntry.index >= index - 2)
        ).all()
    expected = ["other", "writer", "unit"] if with_another else ["writer", "unit"]
    assert subjects[-len(expected) :] == expected  # the group, the writer, the unit alone
    _assert_log_verifies(domain)
