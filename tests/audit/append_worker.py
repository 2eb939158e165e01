"""A separate process that appends N entries, each in its own transaction (concurrency test).

Usage: python -m tests.audit.append_worker DATABASE_URL DATA_DIR COUNT TAG  (KEK on stdin)
"""

from __future__ import annotations

import sys

from core.database import Database
from tests.pki import key_settings
from tongxing.composition import build_domain


def main() -> None:
    url, data_dir, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    from pathlib import Path

    settings = key_settings(
        database_url=url, data_dir=Path(data_dir), key_encryption_key=sys.stdin.read().strip()
    )
    database = Database(url)
    domain = build_domain(settings=settings, database=database)
    domain.keys.custody.open(create=False)
    for i in range(count):
        with database.transaction() as session:
            domain.audit.append(
                session, type="test.concurrent", actor=tag, subject=f"{tag}-{i}", details={"i": i}
            )
    domain.close()
    database.dispose()


if __name__ == "__main__":
    main()
