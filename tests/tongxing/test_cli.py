"""The CLI as an operator meets it: one-line errors, nothing half-created (commands run
in-process; ``python -m tongxing`` itself as a real process)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import backends, processes
from tests.conftest import require_backend, strong_secret
from tests.in_process import tongxing
from tests.processes import free_port


def _production(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
        **extra,
    }


def _one_line_error(result: object, *needles: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert stderr.startswith("error: "), stderr
    assert "\n" not in stderr, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, stderr


def test_help_lists_the_commands() -> None:
    result = processes.tongxing("--help", env={})
    assert result.returncode == 0
    for command in ("serve", "demo", "db"):
        assert command in result.stdout


def test_db_upgrade_then_current_on_sqlite(tmp_path: Path) -> None:
    env = _production(tmp_path)
    first = tongxing("db", "upgrade", "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["from"] is None
    assert report["to"]
    again = tongxing("db", "upgrade", env=env)
    assert "already at revision" in again.stdout
    current = tongxing("db", "current", "--json", env=env)
    assert current.returncode == 0
    assert json.loads(current.stdout)["up_to_date"] is True


def test_db_current_exits_1_when_behind(tmp_path: Path) -> None:
    result = tongxing("db", "current", env=_production(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith("current none, head ")


def test_db_upgrade_on_postgresql(tmp_path: Path) -> None:
    require_backend("postgresql")
    with backends.scratch_postgres_database() as url:
        env = _production(tmp_path, TONGXING_DATABASE_URL=url)
        assert tongxing("db", "upgrade", env=env).returncode == 0
        current = tongxing("db", "current", "--json", env=env)
        assert json.loads(current.stdout)["up_to_date"] is True


def test_unknown_setting(tmp_path: Path) -> None:
    result = tongxing("db", "upgrade", env={**_production(tmp_path), "TONGXING_REDIS_ULR": "x"})
    _one_line_error(result, "TONGXING_REDIS_ULR", "did you mean TONGXING_REDIS_URL")


def test_missing_key_encryption_key(tmp_path: Path) -> None:
    result = tongxing("serve", env={"TONGXING_DATA_DIR": str(tmp_path)})
    _one_line_error(result, "TONGXING_KEY_ENCRYPTION_KEY")


def test_missing_data_dir_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    result = tongxing("serve", env=_production(missing))
    _one_line_error(result, "TONGXING_DATA_DIR", str(missing))
    assert not missing.exists()


def test_serve_refuses_an_unmigrated_database_and_creates_no_file(tmp_path: Path) -> None:
    result = tongxing("serve", env=_production(tmp_path))
    _one_line_error(result, "tongxing db upgrade")
    assert not (tmp_path / "tongxing.db").exists()


def test_corrupt_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "tongxing.db").write_bytes(b"garbage" * 1000)
    result = tongxing("serve", env=_production(tmp_path))
    _one_line_error(result, "TONGXING_DATA_DIR", "corrupt or not a database")


def test_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://tongxing:pa55word@127.0.0.1:{free_port()}/tongxing"
    result = tongxing("serve", env=_production(tmp_path, TONGXING_DATABASE_URL=url))
    _one_line_error(result, "TONGXING_DATABASE_URL", "cannot use the database")
    assert "pa55word" not in result.stderr


def test_unreachable_redis(tmp_path: Path) -> None:
    env = _production(tmp_path, TONGXING_REDIS_URL=f"redis://:pa55word@127.0.0.1:{free_port()}/0")
    assert tongxing("db", "upgrade", env=env).returncode == 0
    result = tongxing("serve", env=env)
    _one_line_error(result, "TONGXING_REDIS_URL", "cannot reach Redis")
    assert "pa55word" not in result.stderr


def test_several_workers_need_redis(tmp_path: Path) -> None:
    result = tongxing("serve", "--workers", "2", env=_production(tmp_path))
    _one_line_error(result, "TONGXING_REDIS_URL is required with more than one worker")


@pytest.mark.parametrize("bad", ["staging", ""])
def test_bad_mode(tmp_path: Path, bad: str) -> None:
    result = tongxing("db", "upgrade", env={**_production(tmp_path), "TONGXING_MODE": bad})
    _one_line_error(result, "TONGXING_MODE")


def test_in_process_runs_see_only_the_environment_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process runner behaves like a fresh process: the test process's TONGXING_*
    variables are hidden from the command and are back afterwards, as is the directory."""
    monkeypatch.setenv("TONGXING_REDIS_ULR", "x")  # would be refused as an unknown setting
    before = (dict(os.environ), Path.cwd())
    result = tongxing("db", "current", env=_production(tmp_path), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout.startswith("current none, head ")
    assert (dict(os.environ), Path.cwd()) == before
