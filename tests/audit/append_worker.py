"""A separate process that appends N entries, each in its own transaction, or through group
commit from THREADS threads at once (concurrency test).

Usage: python -m tests.audit.append_worker DATABASE_URL DATA_DIR COUNT TAG [THREADS]
(KEK on the first line of stdin; prints "ready" once set up and starts appending on the next
line, so that two workers start together whatever their start-up costs)
"""

from __future__ import annotations

import sys
import threading

from sqlalchemy.orm import Session

from audit.group_commit import GroupCommit
from core.database import Database
from tests.pki import key_settings
from tongxing.composition import build_domain


def main() -> None:
    url, data_dir, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    from pathlib import Path

    settings = key_settings(
        database_url=url, data_dir=Path(data_dir), key_encryption_key=sys.stdin.readline().strip()
    )
    database = Database(url)
    domain = build_domain(settings=settings, database=database)
    domain.keys.custody.open(create=False)
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    group = GroupCommit(domain.audit) if threads else None
    print("ready", flush=True)
    sys.stdin.readline()  # the go signal

    def append(session: Session, i: int) -> None:
        domain.audit.append(
            session, type="test.concurrent", actor=tag, subject=f"{tag}-{i}", details={"i": i}
        )

    if group is None:
        for i in range(count):
            with database.transaction() as session:
                append(session, i)
    else:
        commit = group  # narrowed, for the closure

        def loop(first: int) -> None:
            for i in range(first, count, threads):
                commit.run(lambda session, i=i: append(session, i))  # type: ignore[misc]

        workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        print(f"{tag}: {group.units} appends in {group.groups} transactions")
    domain.close()
    database.dispose()


if __name__ == "__main__":
    main()
