"""``tongxing audit``: verify a log (here, from an export or over HTTP), export it, prove
an entry's inclusion."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import serialization

from audit import file_lookup, sources
from audit.verifier import VerifyReport, verify_log
from core.database import Database
from core.settings import load_settings
from tongxing import preflight
from tongxing.composition import build_domain

app = typer.Typer(help="Tamper-evident audit log.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class AuditCommandError(RuntimeError):
    """An audit command could not run (not a failed verification); one line on stderr."""


def _local_material() -> sources.LogMaterial:
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        preflight.check_database(settings, database, migrate_schema=False)
        # The origin stored with the log, whatever TONGXING_ISSUER says here; nothing is
        # written (a reader's shell does not get to name the log).
        audit_log = build_domain(settings=settings, database=database).audit
        with database.snapshot() as session:
            origin = audit_log.origin_for_reading(session)
            return sources.from_database(session, origin=origin)
    except sources.SourceError as exc:
        raise AuditCommandError(str(exc)) from None
    finally:
        database.dispose()


def _report_failure(report: VerifyReport) -> None:
    """A few lines: the first bad entry (index, type, what is wrong), then a count."""
    first = report.first_bad_index
    if first is None:
        typer.echo(f"TAMPERED: {report.headline}", err=True)
    else:
        kind = f" (type {report.first_bad_type})" if report.first_bad_type else ""
        typer.echo(f"TAMPERED: first entry that does not match: {first}{kind}", err=True)
        typer.echo(f"  {report.headline}", err=True)
    further = len(report.problems) - 1
    if further:
        typer.echo(
            f"  and {further} further failure{'s' if further > 1 else ''} "
            "(later checkpoints cannot match once an entry changed; --json lists them all)",
            err=True,
        )


@app.command("verify")
def verify(
    export: Annotated[Path | None, typer.Option("--export", help="Verify an export file.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Verify a running deployment.")] = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="File with an audit:read access token.")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="The log public key (PEM) you trust.")
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="File remembering the last verified checkpoint."),
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="The log origin you expect (e.g. example.gov.cn/audit)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the tree from every entry and check every checkpoint.

    Exit 0: intact; 1: tampered (the first entry that does not match is named); 2: the log
    could not be read, or it is not the log expected (another origin)."""
    try:
        if export:
            material = sources.from_export(export.read_bytes())
        elif url:
            if token_file is None:
                raise AuditCommandError("--url needs --token-file with an audit:read token")
            material = sources.from_http(url, token=token_file.read_text().strip())
        else:
            material = _local_material()
    except (sources.SourceError, OSError) as exc:
        raise AuditCommandError(str(exc)) from None
    try:
        material.expect_origin(origin)
    except sources.OriginMismatch as exc:
        raise AuditCommandError(str(exc)) from None
    if key:
        try:
            pinned = serialization.load_pem_public_key(key.read_bytes()).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        except (OSError, ValueError) as exc:
            raise AuditCommandError(f"--key {key}: not a readable PEM public key ({exc})") from None
        if pinned != material.public_key_der:
            typer.echo("error: the log is signed with a different key than --key", err=True)
            raise typer.Exit(1)
    if not key and not (state and state.exists()):
        fingerprint = hashlib.sha256(material.public_key_der).hexdigest()[:16]
        typer.echo(
            f"warning: trusting the log key the log itself supplies (SHA-256 {fingerprint}…); "
            "pin it with --key or keep --state",
            err=True,
        )
    trusted = state.read_text() if state and state.exists() else None
    report = verify_log(
        entries=material.entries,
        checkpoint_notes=material.checkpoints,
        origin=material.origin,
        public_key_der=material.public_key_der,
        stored_leaf_hashes=material.leaf_hashes or None,
        trusted_note=trusted,
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "verified_size": report.verified_size,
                    "first_bad_index": report.first_bad_index,
                    "first_bad_type": report.first_bad_type,
                    "origin": material.origin,
                    "problems": report.problems,
                    "warnings": report.warnings,
                },
                ensure_ascii=False,
            )
        )
    if not report.ok:
        if not as_json:
            _report_failure(report)
        raise typer.Exit(1)
    if state and report.latest_note:
        state.write_text(report.latest_note)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not as_json:
        typer.echo(
            f"OK: {report.entries} entries, {report.checkpoints} checkpoints verified; "
            f"signed tree size {report.verified_size}"
        )


@app.command("find")
def find(
    file: Annotated[Path, typer.Option("--file", help="A submitted or sealed document.")],
    export: Annotated[
        Path | None, typer.Option("--export", help="Search an export file instead.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The entries that name this file (its SHA-256 as submitted or as sealed).

    Exit 0: found (index, time, event type, seal, document id per line); 1: no entry names
    the file; 2: the file or the log could not be read. Finding is not verifying: run
    `audit verify` to know the log is intact."""
    try:
        sha256 = file_lookup.file_sha256(file)
        if export:
            material = sources.from_export(export.read_bytes())
            found = file_lookup.find_in_entries(material.entries, sha256)
        else:
            found = _find_locally(sha256)
    except (sources.SourceError, OSError) as exc:
        raise AuditCommandError(str(exc)) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "sha256": sha256,
                    "entries": [
                        {
                            "index": e.index,
                            "time": e.time,
                            "type": e.type,
                            "role": e.role,
                            "seal_id": e.details.get("seal_id"),
                            "document_id": e.details.get("document_id", e.subject),
                        }
                        for e in found
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for e in found:
            typer.echo(
                f"{e.index}\t{e.time}\t{e.type}\tseal {e.details.get('seal_id', '-')}\t"
                f"document {e.details.get('document_id', e.subject)}\t({e.role} file)"
            )
        if not found:
            typer.echo(f"not found: no audit entry names SHA-256 {sha256}", err=True)
    if not found:
        raise typer.Exit(1)


def _find_locally(sha256: str) -> list[file_lookup.FoundEntry]:
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        preflight.check_database(settings, database, migrate_schema=False)
        with database.reading() as session:
            return file_lookup.find_in_database(session, sha256)
    finally:
        database.dispose()


@app.command("export")
def export_log(out: Annotated[Path, typer.Option("--out", help="File to create.")]) -> None:
    """Write every entry, checkpoint and leaf hash to a file auditors verify offline."""
    material = _local_material()
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise AuditCommandError(f"{out} exists; choose another file") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(material.to_export())
    typer.echo(
        f"wrote {len(material.entries)} entries and "
        f"{len(material.checkpoints)} checkpoints to {out}"
    )


@app.command("prove")
def prove(
    index: Annotated[int, typer.Option("--index", min=0, help="Entry index.")],
    tree_size: Annotated[
        int | None, typer.Option("--tree-size", min=1, help="Default: latest checkpoint.")
    ] = None,
) -> None:
    """An inclusion proof (with its checkpoint) that a third party can check."""
    import base64

    from audit import repository

    settings = load_settings()
    database = Database(settings.resolved_database_url)
    domain = build_domain(settings=settings, database=database)
    try:
        preflight.check_database(settings, database, migrate_schema=False)
        with database.snapshot() as session:
            latest = repository.latest_checkpoint(session)
            size = tree_size or (latest.tree_size if latest else 0)
            if not 0 <= index < size:
                raise AuditCommandError(f"entry {index} is not in a signed tree of size {size}")
            hashes = domain.audit.inclusion_proof(session, index=index, size=size)
            entry = repository.entries(session, start=index, end=index + 1)[0]
            note = latest.note if latest and latest.tree_size == size else None
    finally:
        database.dispose()
    typer.echo(
        json.dumps(
            {
                "leaf_index": index,
                "tree_size": size,
                "hashes": [base64.b64encode(h).decode() for h in hashes],
                "leaf": base64.b64encode(entry.leaf).decode(),
                "checkpoint": note,
            },
            ensure_ascii=False,
            indent=1,
        )
    )
