"""Two processes appending at once on one PostgreSQL produce one log: no gaps, no forks, one
entry at a time or several threads' entries per transaction (group commit)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from audit import sources
from audit.models import AuditEntry
from audit.verifier import verify_log
from tests import backends
from tests.conftest import require_backend, strong_secret
from tests.pki import key_settings, opened_domain

pytestmark = pytest.mark.slow
PER_PROCESS = 300


@pytest.mark.parametrize("threads", [0, 4], ids=["one-at-a-time", "group-commit"])
def test_two_processes_append_concurrently(tmp_path: Path, threads: int) -> None:
    require_backend("postgresql")
    kek = strong_secret()
    with backends.scratch_postgres_database() as url:
        from core.database import Database
        from tongxing import migrate

        database = Database(url)
        migrate.upgrade(database)
        database.dispose()
        settings = key_settings(database_url=url, data_dir=tmp_path, key_encryption_key=kek)
        with opened_domain(settings) as domain:
            with domain.audit.database.transaction() as session:
                start = len(session.scalars(select(AuditEntry.index)).all())
            workers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.audit.append_worker",
                        url,
                        str(tmp_path),
                        str(PER_PROCESS),
                        tag,
                        str(threads),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for tag in ("process-a", "process-b")
            ]
            for worker in workers:
                worker.stdin.write(kek + "\n")  # type: ignore[union-attr]
                worker.stdin.flush()  # type: ignore[union-attr]
            # Start both at once: set-up (imports, opening the key store) costs more than the
            # appends themselves, so a worker started first could be done before the other began.
            for worker in workers:
                assert worker.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
            for worker in workers:
                worker.stdin.write("go\n")  # type: ignore[union-attr]
                worker.stdin.close()  # type: ignore[union-attr]
            for worker in workers:
                assert worker.wait(timeout=240) == 0
                print(worker.stdout.read(), end="")  # type: ignore[union-attr]
            with domain.audit.database.transaction() as session:
                material = sources.from_database(session, origin=domain.audit.origin)
                actors = session.scalars(
                    select(AuditEntry.actor)
                    .where(AuditEntry.index >= start)
                    .order_by(AuditEntry.index)
                ).all()
        assert [i for i, _ in material.entries] == list(range(start + 2 * PER_PROCESS))
        assert actors.count("process-a") == actors.count("process-b") == PER_PROCESS
        interleaved = sum(1 for a, b in itertools.pairwise(actors) if a != b)
        assert interleaved > 1  # they really ran at the same time
        report = verify_log(
            entries=material.entries,
            checkpoint_notes=material.checkpoints,
            origin=material.origin,
            public_key_der=material.public_key_der,
            stored_leaf_hashes=material.leaf_hashes,
        )
        assert report.ok, report.problems[:3]
        assert report.verified_size == start + 2 * PER_PROCESS
