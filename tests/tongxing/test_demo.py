"""``tongxing demo`` on a fresh directory: creates its data, prints where to click, serves."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from tests.processes import running_server


def test_demo_first_and_second_run(tmp_path: Path) -> None:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        home = httpx.get(server.base_url + "/")
        assert home.status_code == 200
        assert "演示模式" in home.text
        instances = httpx.get(server.base_url + "/ops/v1/instances").json()["instances"]
        assert [i["live"] for i in instances] == [True]
    output = server.log.read_text()
    assert f"{server.base_url}/" in output  # where to click
    assert server.process.returncode in (0, -15)  # uvicorn re-raises SIGTERM after shutdown
    assert "Application shutdown complete" in output
    kek = tmp_path / "var" / "demo-key-encryption-key"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    first_key = kek.read_bytes()
    assert (tmp_path / "var" / "tongxing.db").exists()

    with running_server("demo", env={}, cwd=tmp_path) as server:
        instances = httpx.get(server.base_url + "/ops/v1/instances").json()["instances"]
    assert kek.read_bytes() == first_key  # keys are generated once, on the first run
    assert sorted(i["live"] for i in instances) == [False, True]
