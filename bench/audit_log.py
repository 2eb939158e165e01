"""Audit log: appends per second and inclusion-proof latency as the log grows.

Run: .venv/bin/python -m bench.audit_log [--appends 500] [--sizes 10000,100000,1000000]
Appends: the full path (head lock, entry, subtree hashes, signed checkpoint at commit), one
transaction each and 100 per transaction, on SQLite and PostgreSQL, each against a plain
INSERT of the same entry row in the same run (the baseline); then from 8 threads at once
through group commit (``audit.group_commit``: appends in flight share a transaction and a
checkpoint), against 8 threads each appending in a transaction of its own. Proofs: subtree
hashes for logs of 10^4, 10^5 and 10^6 entries are bulk-loaded (proofs read only those),
then the mean latency of inclusion proofs for random leaves is measured; target: 10^6 / 10^4
under 2 and under 5 ms at 10^6.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from audit import merkle
from audit.group_commit import GroupCommit
from audit.models import AuditEntry
from core.database import Database
from core.settings import load_settings
from tongxing import migrate
from tongxing.composition import Domain, build_domain

POSTGRES_ADMIN = os.environ.get(
    "TX_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def databases() -> Iterator[list[tuple[str, str]]]:
    work = Path(tempfile.mkdtemp(prefix="tx-bench-audit-"))
    name = f"tongxing_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield [("SQLite", f"sqlite:///{work / 'bench.db'}"), ("PostgreSQL", f"{base}/{name}")]
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_domain(url: str) -> tuple[Database, Domain]:
    database = Database(url)
    with database.engine.begin() as connection:
        for table in ("audit_nodes", "audit_entries", "audit_checkpoints"):
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("UPDATE audit_head SET tree_size = 0"))
    settings = load_settings(
        {},
        mode="demo",
        data_dir=tempfile.mkdtemp(),
        database_url=url,
        key_encryption_key="bench key-encryption key, not a real one",
    )
    domain = build_domain(settings=settings, database=database)
    domain.keys.initialise(actor="bench")
    return database, domain


def appends_per_second(domain: Domain, database: Database, count: int, batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, count, batch):
        with database.transaction() as session:
            for i in range(start, min(count, start + batch)):
                domain.audit.append(
                    session,
                    type="seal.applied",
                    actor="bench",
                    subject=f"doc-{i}",
                    details={"sha256": f"{i:064x}"},
                )
    return count / (time.perf_counter() - started)


def threaded_appends_per_second(
    domain: Domain, database: Database, count: int, *, threads: int, grouped: bool
) -> tuple[float, float]:
    """Appends/s from ``threads`` threads at once, each in its own transaction or through
    group commit; and appends per transaction."""
    group = GroupCommit(domain.audit)

    def append(session: Session, i: int) -> None:
        domain.audit.append(
            session, type="seal.applied", actor="bench", subject=f"doc-{i}", details={"i": i}
        )

    def loop(first: int) -> None:
        for i in range(first, count, threads):
            if grouped:
                group.run(lambda session, i=i: append(session, i))  # type: ignore[misc]
            else:
                with database.transaction() as session:
                    append(session, i)

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return count / elapsed, (group.units / group.groups if grouped else 1.0)


def plain_inserts_per_second(database: Database, count: int, batch: int) -> float:
    offset = 10**9 + batch * 10**6  # indexes far from the log's own, one range per run
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, count, batch):
        with database.transaction() as session:
            for i in range(start, min(count, start + batch)):
                session.execute(
                    insert(AuditEntry).values(
                        index=offset + i,
                        type="seal.applied",
                        actor="bench",
                        subject=f"doc-{i}",
                        created_at=now,
                        leaf=b'{"seq":%d}' % i,
                    )
                )
    return count / (time.perf_counter() - started)


def bulk_nodes(database: Database, size: int) -> None:
    """The stored subtree hashes of a log of ``size`` random entries."""
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_nodes"))
    rows: list[tuple[int, int, bytes]] = []
    last: dict[int, bytes] = {}  # the most recently completed subtree at each level
    for index in range(size):
        value = merkle.leaf_hash(index.to_bytes(8, "big"))
        rows.append((0, index, value))
        keys = merkle.new_nodes(index)
        for level, node_index in keys[1:]:
            value = merkle.node_hash(last[level - 1], value)
            rows.append((level, node_index, value))
        last[len(keys) - 1] = value
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database.is_sqlite:
            cursor.executemany(
                'INSERT INTO audit_nodes (level, "index", hash) VALUES (?, ?, ?)', rows
            )
        else:
            with cursor.copy('COPY audit_nodes (level, "index", hash) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET tree_size = :n"), {"n": size})
        if not database.is_sqlite:
            connection.execute(text("ANALYZE audit_nodes"))


def proof_latency_ms(domain: Domain, database: Database, size: int, samples: int = 300) -> float:
    timings = []
    with database.transaction() as session:
        for _ in range(samples):
            index = random.randrange(size)
            started = time.perf_counter()
            domain.audit.inclusion_proof(session, index=index, size=size)
            timings.append(time.perf_counter() - started)
    return statistics.mean(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with databases() as urls:
        for name, url in urls:
            database = Database(url)
            migrate.upgrade(database)
            database, domain = fresh_domain(url)
            print(f"\n{name}")
            for batch in (1, 100):
                plain = plain_inserts_per_second(database, args.appends, batch)
                logged = appends_per_second(domain, database, args.appends, batch)
                print(
                    f"  appends, {batch:>3} per transaction: {logged:9,.0f}/s   plain INSERT "
                    f"{plain:9,.0f}/s   ratio {logged / plain:.2f}"
                )
            alone, _ = threaded_appends_per_second(
                domain, database, args.appends, threads=8, grouped=False
            )
            grouped, per = threaded_appends_per_second(
                domain, database, args.appends, threads=8, grouped=True
            )
            print(
                f"  appends from 8 threads: group commit {grouped:9,.0f}/s ({per:.1f} per "
                f"transaction)   own transactions {alone:9,.0f}/s   ratio {grouped / alone:.2f}"
            )
            latencies = {}
            for size in sizes:
                bulk_nodes(database, size)
                latencies[size] = proof_latency_ms(domain, database, size)
                print(f"  inclusion proof at {size:>9,} entries: {latencies[size]:.2f} ms")
            if len(sizes) > 1:
                ratio = latencies[sizes[-1]] / latencies[sizes[0]]
                print(f"  proof latency {sizes[-1]:,} / {sizes[0]:,}: {ratio:.2f} (target < 2)")
            domain.close()
            database.dispose()


if __name__ == "__main__":
    main()
