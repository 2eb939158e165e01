"""``tongxing demo`` on a fresh directory: creates its data, prints where to click, serves."""

from __future__ import annotations

import contextlib
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from idp import totp
from tests import backends
from tests.conftest import require_backend
from tests.processes import Server, clean_env, free_port, running_server, tongxing, wait_ready
from tongxing.demo_data import CERTSYS_CLIENT_ID, CERTSYS_SECRET, DEMO_SEAL_ID, totp_secret

pytestmark = pytest.mark.slow


def test_demo_first_and_second_run(tmp_path: Path) -> None:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        home = httpx.get(server.base_url + "/")
        assert home.status_code == 200
        assert "演示模式" in home.text
        instances = httpx.get(server.base_url + "/ops/v1/instances").json()["instances"]
        assert [i["live"] for i in instances] == [True]
        _readme_sealing_tour(server.base_url, tmp_path)
        # The README's audit check, on a port other than the default issuer's.
        checked = tongxing("audit", "verify", env={"TONGXING_MODE": "demo"}, cwd=tmp_path)
        assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr
        # The security administrator's key commands need no --as in demo mode (secadmin acts).
        demo = {"TONGXING_MODE": "demo"}
        rotated = tongxing("keys", "rotate", "--force", "--json", env=demo, cwd=tmp_path)
        assert rotated.returncode == 0, rotated.stderr
        status = tongxing("keys", "status", env=demo, cwd=tmp_path)
        assert status.returncode == 0 and "ca     root" in status.stdout, status.stderr
        _readme_totp_command(tmp_path)
    assert server.base_url.startswith("http://localhost:")  # the demo's issuer is a host name
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


def _readme_totp_command(workdir: Path) -> None:
    """README: `tongxing demo totp --user LOGIN` prints what the person's app shows now
    (demo mode only)."""
    demo = {"TONGXING_MODE": "demo"}
    shown = tongxing("demo", "totp", "--user", "sysadmin", env=demo, cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    step = totp.step_of(time.time())
    expected = {totp.code_at(totp_secret("sysadmin"), s) for s in (step - 1, step, step + 1)}
    assert shown.stdout.strip() in expected and "valid for" in shown.stderr
    for args, env, message in (
        (("--user", "newcomer"), demo, "no seeded TOTP"),
        (("--user", "sysadmin"), {"TONGXING_MODE": "production"}, "demo mode only"),
    ):
        refused = tongxing("demo", "totp", *args, env=env, cwd=workdir)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr


def _readme_sealing_tour(base: str, workdir: Path) -> None:
    """README "Seal a certificate": the sample permit, a token, the seal, the verify page,
    and the offline check of a B-LT document with only the root certificate."""
    permit = httpx.get(f"{base}/demo/certificate.pdf")
    assert permit.headers["content-type"] == "application/pdf"
    token = httpx.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": "seal:sign"},
        auth=(CERTSYS_CLIENT_ID, CERTSYS_SECRET),
    ).json()["access_token"]
    sealed = httpx.post(
        f"{base}/seal/v1/sign",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("permit.pdf", permit.content, "application/pdf")},
        data={"seal_id": DEMO_SEAL_ID, "anchor": "（盖章）"},
        timeout=30,
    )
    assert sealed.status_code == 200, sealed.text
    with httpx.Client(base_url=base) as browser:
        page = browser.get("/verify")
        token_field = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        result = browser.post(
            "/verify",
            data={"csrf_token": token_field},
            files={"file": ("sealed.pdf", sealed.content, "application/pdf")},
        )
    assert result.status_code == 200
    assert "有效" in result.text and "行政审批专用章" in result.text

    (workdir / "root.pem").write_bytes(httpx.get(f"{base}/pki/ca/root.pem").content)
    long_term = httpx.post(
        f"{base}/seal/v1/sign",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("permit.pdf", permit.content, "application/pdf")},
        data={"seal_id": DEMO_SEAL_ID, "anchor": "（盖章）", "level": "B-LT"},
        timeout=30,
    )
    assert long_term.status_code == 200, long_term.text
    for name, data in (("sealed-lt.pdf", long_term.content), ("sealed.pdf", sealed.content)):
        (workdir / name).write_bytes(data)
    offline = tongxing("verify", "sealed-lt.pdf", "--root", "root.pem", env={}, cwd=workdir)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    not_offline = tongxing("verify", "sealed.pdf", "--root", "root.pem", env={}, cwd=workdir)
    assert not_offline.returncode != 0 and "TRY_LATER" in not_offline.stdout


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_two_demo_processes_starting_together_on_a_fresh_database(
    tmp_path: Path, engine: str
) -> None:
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if engine == "postgresql":
            require_backend("postgresql")
            env["TONGXING_DATABASE_URL"] = stack.enter_context(backends.scratch_postgres_database())
        servers = []
        for _ in range(2):
            port = free_port()
            log = (tmp_path / f"server-{port}.log").open("w")
            stack.callback(log.close)
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tongxing",
                    "demo",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=clean_env(env),
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            server = Server(
                process=process,
                base_url=f"http://127.0.0.1:{port}",
                log=tmp_path / f"server-{port}.log",
            )
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:  # one waits for the other's seeding (the demo-start lock)
            wait_ready(server, timeout=240)
        instances = httpx.get(servers[0].base_url + "/ops/v1/instances").json()["instances"]
        assert len(instances) == 2  # (liveness is per process: each has its own memory store)
        for server in servers:  # both serve the one set of demo data
            token = httpx.post(
                server.base_url + "/token",
                data={"grant_type": "client_credentials", "scope": "seal:sign"},
                auth=(CERTSYS_CLIENT_ID, CERTSYS_SECRET),
            )
            assert token.status_code == 200, token.text
    for server in servers:
        assert "Traceback" not in server.log.read_text()


def test_a_second_demo_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        port = server.base_url.rsplit(":", 1)[1]
        second = tongxing("demo", "--port", port, env={}, cwd=tmp_path)
        assert second.returncode != 0
        lines = (second.stdout + second.stderr).strip().splitlines()
        assert len(lines) == 1, lines
        assert f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]
        instances = httpx.get(server.base_url + "/ops/v1/instances").json()["instances"]
        assert len(instances) == 1  # the refused start left no instance behind
