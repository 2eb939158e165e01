"""``tongxing cas-services`` as an operator meets it: create (exact URL, once), list, disable
and enable; refusals are one-line errors and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import strong_secret
from tests.in_process import tongxing

URL = "https://records.example.gov.cn/cas/"


def _one_line_error(result: object, needle: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert stderr.startswith("error: ") and "\n" not in stderr and needle in stderr, stderr


def test_create_list_disable_enable(tmp_path: Path) -> None:
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=env).returncode == 0
    assert tongxing("keys", "init", env=env).returncode == 0
    made = tongxing("cas-services", "create", "--service", URL, "--name", "档案", env=env)
    assert made.returncode == 0, made.stderr
    service_id = made.stdout.strip().splitlines()[-1]
    _one_line_error(
        tongxing("cas-services", "create", "--service", URL, env=env), "already registered"
    )
    _one_line_error(
        tongxing("cas-services", "create", "--service", "http://records.example/", env=env),
        "https",
    )
    _one_line_error(
        tongxing("cas-services", "create", "--service", URL + "x", "--min-acr", "9", env=env),
        "min_acr",
    )
    loop = tongxing("cas-services", "create", "--service", "http://127.0.0.1:8080/", env=env)
    assert loop.returncode == 0 and "no single logout" in loop.stderr

    def listed() -> list[dict[str, object]]:
        done = tongxing("cas-services", "list", "--json", env=env)
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout))

    [mine] = [s for s in listed() if s["service"] == URL]
    assert mine == {**mine, "id": service_id, "name": "档案", "disabled": False}
    assert tongxing("cas-services", "disable", URL, env=env).stdout.strip() == "disabled"
    assert [s["disabled"] for s in listed() if s["id"] == service_id] == [True]
    enabled = tongxing("cas-services", "disable", service_id, "--enable", env=env)
    assert enabled.stdout.strip() == "enabled"
    assert [s["disabled"] for s in listed() if s["id"] == service_id] == [False]
    _one_line_error(tongxing("cas-services", "disable", "nothing", env=env), "no CAS service")
    text = tongxing("cas-services", "list", env=env).stdout
    assert URL in text and service_id in text
