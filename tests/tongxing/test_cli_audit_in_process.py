"""``tongxing audit`` in-process (typer's CliRunner) on both storage configurations: the
log's origin survives issuer changes, a tampered entry is summarised in a few lines, and
``audit find`` locates a sealing from either file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner, Result

from audit import checkpoint, repository
from audit.log import origin_for
from core.database import Database
from core.settings import Settings
from tests.seal.world import make_world
from tongxing import create_app
from tongxing.cli import app as cli_app
from tongxing.cli.audit import AuditCommandError
from tongxing.demo_sealing import sample_permit

FIRST = "http://127.0.0.1:8300"
LATER = "http://127.0.0.1:8301"
MOVED = "https://seals.example.gov.cn"


def _cli(settings: Settings, *args: str, issuer: str | None = None) -> Result:
    """Run ``tongxing audit ...`` in this process with ``settings`` as its environment."""
    assert settings.key_encryption_key is not None
    env = {
        "TONGXING_MODE": settings.mode.value,
        "TONGXING_DATA_DIR": str(settings.data_dir),
        "TONGXING_DATABASE_URL": settings.database_url,
        "TONGXING_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
        "TONGXING_ISSUER": issuer or settings.issuer,
    }
    return CliRunner().invoke(cli_app, ["audit", *args], env=env)


def _sql(settings: Settings, statement: str, **params: object) -> None:
    database = Database(settings.resolved_database_url)
    try:
        with database.engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        database.dispose()


def _origins(settings: Settings) -> set[str]:
    database = Database(settings.resolved_database_url)
    try:
        with database.reading() as session:
            notes = repository.checkpoints(session, after_id=0, limit=10_000)
            return {checkpoint.parse(row.note)[0].origin for row in notes}
    finally:
        database.dispose()


def test_the_origin_survives_another_port_and_host(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(issuer=FIRST)  # `keys init` creates the log under 8300
    # Restart on another port: the app appends (seeding a seal) and signs checkpoints.
    with TestClient(create_app(make_settings(issuer=LATER))) as client:
        make_world(client)
        assert client.get("/audit/v1/key").json()["origin"] == "127.0.0.1:8300/audit"
    assert _origins(settings) == {"127.0.0.1:8300/audit"}
    for issuer in (FIRST, LATER, MOVED, "http://127.0.0.1:8000"):  # the CLI's default too
        result = _cli(settings, "verify", issuer=issuer)
        assert result.exit_code == 0, (issuer, result.stderr, result.exception)
        assert result.stdout.startswith("OK: ")
    explicit = _cli(settings, "verify", "--origin", "127.0.0.1:8300/audit", issuer=LATER)
    assert explicit.exit_code == 0, explicit.stderr


def test_asking_for_another_origin_is_a_configuration_error(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(issuer=FIRST)
    result = _cli(settings, "verify", "--origin", origin_for(LATER), issuer=LATER)
    assert isinstance(result.exception, AuditCommandError)  # exit 2 through `main`
    message = str(result.exception)
    assert "configuration error" in message
    assert "'127.0.0.1:8300/audit'" in message and "'127.0.0.1:8301/audit'" in message
    assert "TAMPERED" not in result.output


def test_an_existing_log_is_named_after_its_first_checkpoint(
    make_settings: Callable[..., Settings],
) -> None:
    """An installation from before 0007 (no stored origin) that now starts elsewhere."""
    settings = make_settings(issuer=FIRST)
    _sql(settings, "UPDATE audit_head SET origin = NULL")
    with TestClient(create_app(make_settings(issuer=LATER))) as client:
        make_world(client)
    assert _origins(settings) == {"127.0.0.1:8300/audit"}
    assert _cli(settings, "verify", issuer=MOVED).exit_code == 0


def test_checkpoints_signed_under_a_former_origin_are_a_warning(
    make_settings: Callable[..., Settings],
) -> None:
    """A log that older versions signed under two names (the demo restarted on 8301)."""
    settings = make_settings(issuer=FIRST)
    with TestClient(create_app(make_settings(issuer=LATER))) as client:
        make_world(client)
    _sql(settings, "UPDATE audit_head SET origin = :o", o="127.0.0.1:8301/audit")
    result = _cli(settings, "verify", issuer=FIRST)
    assert result.exit_code == 0, result.stderr
    assert "under origin '127.0.0.1:8300/audit'" in result.stderr
    assert len(result.stderr.splitlines()) <= 3


def test_one_edited_entry_is_reported_in_a_few_lines(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        make_world(client)  # dozens of entries, most with their own checkpoint
    database = Database(settings.resolved_database_url)
    with database.reading() as session:
        leaf = bytes(repository.entries(session, start=2, end=3)[0].leaf)
    database.dispose()
    _sql(
        settings,
        'UPDATE audit_entries SET leaf = :leaf WHERE "index" = 2',
        leaf=leaf.replace(b'"actor":"test"', b'"actor":"tesT"'),
    )
    result = _cli(settings, "verify")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert lines[0].startswith("TAMPERED: first entry that does not match: 2 (type ")
    assert "entry 2 was changed after it was logged" in lines[1]
    assert "further failures" in lines[2]
    assert len(lines) == 3, result.stderr


def test_find_a_sealing_by_either_file(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        world = make_world(client)
        sealed = world.sign()
        assert sealed.status_code == 200, sealed.text
    document_id = sealed.headers["tongxing-document-id"]
    index = sealed.headers["tongxing-audit-index"]
    original, result = tmp_path / "permit.pdf", tmp_path / "sealed.pdf"
    original.write_bytes(sample_permit())
    result.write_bytes(sealed.content)
    for path, role in ((original, "original"), (result, "sealed")):
        found = _cli(settings, "find", "--file", str(path))
        assert found.exit_code == 0, (found.stderr, found.exception)
        (line,) = found.stdout.splitlines()
        assert "\tseal.applied\t" in line and f"seal {world.seal_id}" in line
        assert line.startswith(f"{index}\t")
        assert f"document {document_id}\t({role} file)" in line
    unrelated = tmp_path / "other.pdf"
    unrelated.write_bytes(sample_permit() + b"\n% not sealed\n")
    missing = _cli(settings, "find", "--file", str(unrelated))
    assert missing.exit_code == 1
    assert "not found" in missing.stderr


@pytest.mark.parametrize("role", ["original", "sealed"])
def test_find_in_an_export(
    make_settings: Callable[..., Settings], tmp_path: Path, role: str
) -> None:
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        sealed = make_world(client).sign()
    export = tmp_path / "log.json"
    assert _cli(settings, "export", "--out", str(export)).exit_code == 0
    document = tmp_path / "document.pdf"
    document.write_bytes(sample_permit() if role == "original" else sealed.content)
    found = _cli(settings, "find", "--file", str(document), "--export", str(export), "--json")
    assert found.exit_code == 0, found.stderr
    assert '"role": "' + role + '"' in found.stdout


def test_reading_the_log_never_names_it(make_settings: Callable[..., Settings]) -> None:
    """A reader's shell (``audit verify`` with whatever issuer it has) stores nothing; the
    log is named by whoever first appends to it."""
    settings = make_settings(issuer=FIRST, init_keys_now=False)
    _cli(settings, "verify", issuer=MOVED)
    database = Database(settings.resolved_database_url)
    try:
        with database.reading() as session:
            assert repository.origin(session) is None
    finally:
        database.dispose()
