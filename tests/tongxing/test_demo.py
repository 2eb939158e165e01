"""``tongxing demo`` on a fresh directory: creates its data, prints where to click, serves."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from tests.processes import running_server
from tongxing.demo_data import CERTSYS_CLIENT_ID, CERTSYS_SECRET, DEMO_SEAL_ID


def test_demo_first_and_second_run(tmp_path: Path) -> None:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        home = httpx.get(server.base_url + "/")
        assert home.status_code == 200
        assert "演示模式" in home.text
        instances = httpx.get(server.base_url + "/ops/v1/instances").json()["instances"]
        assert [i["live"] for i in instances] == [True]
        _readme_sealing_tour(server.base_url)
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


def _readme_sealing_tour(base: str) -> None:
    """README "Seal a certificate": the sample permit, a token, the seal, the verify page."""
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
