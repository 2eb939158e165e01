"""Hostile text against a real server on PostgreSQL: a clear 4xx on every path, never a
reset connection (uvicorn re-raises what escapes the app, so only a live server shows it)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.processes import running_server

pytestmark = pytest.mark.slow


def test_nul_and_huge_numbers_get_a_clear_answer_from_a_live_server(
    shared_env: dict[str, str],
    tmp_path: Path,
) -> None:
    with running_server("serve", env=shared_env, cwd=tmp_path) as server:
        base = server.base_url
        for path in (
            "/authorize?client_id=a%00b&response_type=code",
            "/seal/v1/documents/doc%00x",
            "/seal/v1/seals/seal%00x/image",
            "/verify?document=doc%00x",
            "/v/doc%00x",
            f"/audit/v1/checkpoints?after={2**63}",
            "/audit/v1/checkpoints?after=2147483648",
        ):
            answer = httpx.get(base + path)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])
        answer = httpx.post(
            base + "/token",
            data={"grant_type": "client_credentials"},
            auth=("perm\x00its", "secret"),
        )
        assert answer.status_code in (400, 401) and answer.json()["error"], answer.text
        answer = httpx.post(
            base + "/seal/v1/sign",
            headers={"Authorization": "Bearer x"},
            files={"file": ("a.pdf", b"%PDF-1.7\n", "application/pdf")},
            data={"seal_id": "seal\x00x"},
        )
        assert 400 <= answer.status_code < 500, answer.text
    assert "Traceback" not in server.log.read_text()
