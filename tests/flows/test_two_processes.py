"""Two real app processes on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests import backends
from tests.conftest import require_backend, strong_secret
from tests.processes import running_server, tongxing

pytestmark = pytest.mark.slow


def test_state_written_through_one_process_is_served_by_the_other(tmp_path: Path) -> None:
    require_backend("postgresql")
    require_backend("redis")
    token = strong_secret()
    prefix = f"txt2p{int(time.time() * 1000) % 10**8}"
    with backends.scratch_postgres_database() as url:
        env = {
            "TONGXING_MODE": "production",
            "TONGXING_DATA_DIR": str(tmp_path),
            "TONGXING_DATABASE_URL": url,
            "TONGXING_REDIS_URL": backends.REDIS_URL,
            "TONGXING_STORE_PREFIX": prefix,
            "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
            "TONGXING_OPS_TOKEN": token,
        }
        assert tongxing("db", "upgrade", env=env).returncode == 0
        auth = {"authorization": f"Bearer {token}"}
        try:
            with running_server("serve", env=env, cwd=tmp_path) as one:
                with running_server("serve", env=env, cwd=tmp_path) as two:
                    seen_by_one = httpx.get(one.base_url + "/ops/v1/instances", headers=auth)
                    seen_by_two = httpx.get(two.base_url + "/ops/v1/instances", headers=auth)
                    listing_one = seen_by_one.json()["instances"]
                    listing_two = seen_by_two.json()["instances"]
                    # Each process's registration (SQL) and heartbeat (Redis) is visible to
                    # the other.
                    assert {i["id"] for i in listing_one} == {i["id"] for i in listing_two}
                    assert len(listing_one) == 2
                    assert all(i["live"] for i in listing_one + listing_two)
                    assert [i["this"] for i in listing_one].count(True) == 1
                    assert [i["pid"] for i in listing_one if i["this"]] == [one.process.pid]
                    assert [i["pid"] for i in listing_two if i["this"]] == [two.process.pid]
                # uvicorn re-raises SIGTERM after its graceful shutdown completes.
                assert two.process.returncode in (0, -15)
                assert "Application shutdown complete" in two.log.read_text()
                # The second process deregistered on SIGTERM; the first sees it at once.
                after = httpx.get(one.base_url + "/ops/v1/instances", headers=auth).json()
                by_pid = {i["pid"]: i for i in after["instances"]}
                assert by_pid[two.process.pid]["live"] is False
                assert by_pid[two.process.pid]["stopped_at"] is not None
                assert by_pid[one.process.pid]["live"] is True
        finally:
            backends.delete_keys(prefix)
