"""Group commit: units of work in flight in one process share one transaction, one checkpoint.

Security contract: ``GroupCommit.run`` returns (or raises) only after the transaction holding
the unit's changes and audit entries has committed (or has failed and rolled back), so a
caller never acknowledges a change the log does not hold. Each unit runs in a savepoint of
the shared transaction: a unit that raises has its own changes and entries undone and gets
its own exception; the others commit without it, with consecutive indexes and one checkpoint
for the final tree size. If the commit itself fails, every unit of the group gets that
error and nothing of theirs is stored. Nothing is serialised in process memory that the
database does not serialise too: a group's transaction takes the audit head lock like any
append, so groups from several processes interleave like single appends.

Lock order: every transaction of a group, even a group of one, takes the head lock *first*
(its units then lock their own rows), so groups in any number of processes never wait for
each other's rows: the head lock orders them. Other writers lock their rows and take the
head lock last, when they append. So that the two orders can never deadlock, a unit gives up
waiting for a row lock after ``LOCK_WAIT_MS`` (PostgreSQL) and runs again after the group,
alone, in an ordinary transaction of its own. A unit's work may therefore run twice; its
first run's changes are undone. (A group of one that appended as an ordinary writer would
hold its rows while waiting for the head lock, and another process's group wanting those
rows would keep giving up its wait: one seal used from two processes, the common case.)

A unit arriving while no group is committing starts one at once (nobody waits for a group to
fill); units arriving while a group commits form the next group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.orm import Session

from audit import repository

if TYPE_CHECKING:
    from audit.log import AuditLog

T = TypeVar("T")

# Enough to share a commit among every request one process has in flight (its thread pool);
# a bound, so one group's transaction never grows without limit.
MAX_GROUP = 32
# Units hold no row lock another unit of a group waits for (the head lock orders groups), so
# a wait this long is on some other writer, which may itself be waiting for our head lock.
LOCK_WAIT_MS = 100


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    result: T | None = None
    error: BaseException | None = None
    alone: bool = False  # waited too long for a row lock: runs again after the group
    done: bool = False
    leads: bool = False


class GroupCommit:
    """Runs units of work against one audit log's database, grouped while a commit runs."""

    def __init__(self, audit: AuditLog, *, max_group: int = MAX_GROUP) -> None:
        self.audit = audit
        self.max_group = max_group
        self._ready = threading.Condition()
        self._queue: list[_Unit[Any]] = []
        self._leading = False
        self.groups = 0  # transactions run, and the units in them (tests, benchmarks)
        self.units = 0

    @property
    def queued(self) -> int:
        """Units waiting for the group being committed to finish (tests, benchmarks)."""
        with self._ready:
            return len(self._queue)

    def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)``'s result once its transaction has committed; its exception if
        it raised (its changes undone, the group's others unaffected); the commit's error if
        the group's transaction failed. ``work`` may run on another thread (the group's
        leader), and more than once (see the module docstring): it must change nothing but
        through the session it is given."""
        unit: _Unit[T] = _Unit(work)
        with self._ready:
            self._queue.append(unit)
            if not self._leading:
                self._leading = unit.leads = True
            while not unit.done and not unit.leads:
                self._ready.wait()
        if not unit.done:
            self._lead()
        if unit.alone:
            with self.audit.database.transaction() as session:
                return work(session)
        if unit.error is not None:
            raise unit.error
        return unit.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._ready:
            group = self._queue[: self.max_group]
            del self._queue[: len(group)]
        try:
            self._commit(group)
        finally:
            with self._ready:
                for unit in group:
                    unit.done = True
                if self._queue:  # arrived while we committed: the first of them leads next
                    self._queue[0].leads = True
                else:
                    self._leading = False
                self._ready.notify_all()

    def _commit(self, group: list[_Unit[Any]]) -> None:
        try:
            with self.audit.database.transaction() as session:
                self.audit.hold_head(session)
                repository.limit_lock_waits(session, milliseconds=LOCK_WAIT_MS)
                if len(group) == 1:  # alone, its failure is the transaction's: no savepoint
                    group[0].result = group[0].work(session)
                else:
                    for unit in group:
                        try:
                            with self.audit.savepoint(session):
                                unit.result = unit.work(session)
                        except Exception as exc:  # this unit's own failure, undone
                            unit.result = None
                            unit.alone = repository.is_lock_timeout(exc)
                            unit.error = None if unit.alone else exc
        except BaseException as exc:
            for unit in group:
                unit.result = None
                if len(group) == 1 and repository.is_lock_timeout(exc):
                    unit.alone = True
                elif unit.error is None:
                    unit.alone, unit.error = False, exc
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._ready:
                self.groups += 1
                self.units += len(group)
