"""``tongxing keys``: create the hierarchy, list, rotate, revoke, export, back up, restore.

Rotation and certificate status changes are acts of the security administrator (``--as``,
through ``admin.key_status``); the ceremonies on the server (init, backup, restore, root
offline/online) are the operator's and need no role."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from asn1crypto import pem

from admin import key_status
from admin.actors import SECURITY, Actor
from admin.errors import AdminError
from admin.service import Administration
from core.clock import as_utc
from keys import backup, repository, token_keys
from keys.certificate_status import REVOCATION_REASONS
from keys.custody import CustodyError
from keys.hierarchy import CA_NAMES, ROOT, HierarchyError
from keys.runtime import KeyServices
from tongxing.cli.runtime import (
    SERVER_ACTOR,
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
)

app = typer.Typer(help="Key hierarchy and key custody.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
CaOption = Annotated[str, typer.Option("--ca", help=f"Issuing CA: {', '.join(CA_NAMES)}.")]
SerialOption = Annotated[str, typer.Option("--serial", help="Certificate serial (hex).")]
ACTOR = SERVER_ACTOR


class CommandError(RuntimeError):
    """A keys command failed; one line on stderr."""


@contextmanager
def key_services(*, create: bool = False) -> Iterator[KeyServices]:
    """Key services on the configured database, custody opened (checking the KEK)."""
    try:
        with admin_domain(create_keys=create) as domain:
            yield domain.keys
    except (CustodyError, HierarchyError, backup.BackupError, token_keys.RotationError) as exc:
        raise CommandError(str(exc)) from None
    except AdminCommandError as exc:
        raise CommandError(str(exc)) from None


def _read_secret(source: Path | None, what: str) -> bytes:
    """A passphrase from a file or stdin (never from an argument)."""
    data = source.read_bytes() if source else sys.stdin.buffer.read()
    if not data.strip():
        raise CommandError(f"no {what} given on stdin")
    return data.strip()


@app.command("init")
def init(as_json: JsonOption = False) -> None:
    """Create the KEK parameters, root CA, issuing CAs, OCSP/TSA certificates and token keys.

    Idempotent: only what is missing is created.
    """
    with key_services(create=True) as services:
        report = services.initialise(actor=ACTOR)
    if as_json:
        typer.echo(
            json.dumps({"created": report.created, "skipped": report.skipped}, ensure_ascii=False)
        )
        return
    for item in report.created:
        typer.echo(f"created {item}")
    for item in report.skipped:
        typer.echo(f"skipped {item}", err=True)
    if not report.created and not report.skipped:
        typer.echo("the key hierarchy is complete; nothing to do")


@app.command("list")
def list_keys(
    as_json: JsonOption = False,
    purpose: Annotated[str | None, typer.Option(help="Only keys of this purpose.")] = None,
) -> None:
    """Managed keys with purpose, algorithm, store and state (never key material)."""
    with key_services() as services, services.database.reading() as session:
        rows = [
            {
                "id": r.id,
                "purpose": r.purpose,
                "algorithm": r.algorithm,
                "store": r.store,
                "state": r.state,
                "owner": r.owner,
                "created_at": as_utc(r.created_at).isoformat(),
            }
            for r in repository.keys(session, purpose=purpose)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['id']:<36} {r['purpose']:<14} {r['algorithm']:<6} {r['store']:<9} "
            f"{r['state']:<8} {r['owner'] or ''}"
        )


@app.command("certificates")
def certificates(
    as_json: JsonOption = False,
    ca: Annotated[str | None, typer.Option("--ca", help="Only this issuer.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner (seal id, CA).")] = None,
) -> None:
    """Issued certificates with issuer, serial, kind, subject and status."""
    with key_services() as services, services.database.reading() as session:
        rows = [
            {
                "issuer": c.issuer,
                "serial": c.serial,
                "kind": c.kind,
                "owner": c.owner,
                "subject": c.subject,
                "status": c.status,
                "not_after": as_utc(c.not_after).isoformat(),
            }
            for c in repository.certificates(session, issuer=ca, owner=owner)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for c in rows:
        typer.echo(
            f"{c['issuer']:<6} {c['serial']:<41} {c['kind']:<5} {c['status']:<9} {c['subject']}"
        )


@contextmanager
def security_act(acting: str | None) -> Iterator[tuple[Administration, Actor]]:
    """The rule book and the person acting as security administrator (``--as``; in demo
    mode the seeded holder of the role when left out); a refusal is one line on stderr."""
    try:
        with admin_domain() as domain:
            yield administration(domain), acting_as(domain, acting, role=SECURITY)
    except AdminError as exc:
        raise CommandError(exc.detail) from None
    except AdminCommandError as exc:
        raise CommandError(str(exc)) from None


@app.command("status")
def status(as_json: JsonOption = False, acting: AsOption = None) -> None:
    """Token-signing keys, CA certificates and CRLs, seals expiring within 30 days (any
    platform administrator)."""
    with security_act(acting) as (admin, actor):
        view = key_status.status(admin, actor)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
        return
    for key in view["token_signing_keys"]:
        typer.echo(f"token  {key['kid']:<36} {key['algorithm']:<6} {key['state']}")
    for ca in view["certificate_authorities"]:
        crl = ca["crl"]
        freshness = "fresh" if crl["fresh"] else "stale" if crl["stale"] else "not fresh"
        typer.echo(
            f"ca     {ca['name']:<6} {ca['days_left']} days left, CRL {freshness} "
            f"(next update {crl['next_update'] or '-'})"
        )
    for seal in view["seal_certificates_expiring"]:
        typer.echo(f"seal   {seal['seal_id']} expires in {seal['days_left']} days")


@app.command("rotate")
def rotate(
    purpose: Annotated[str, typer.Option(help="Key purpose to rotate.")] = "token-signing",
    as_json: JsonOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote the next key even if it was published less than 5 minutes ago "
            "(relying parties may not have fetched it yet: use only after a key compromise).",
        ),
    ] = False,
    acting: AsOption = None,
) -> None:
    """Rotate the token-signing keys: next becomes active, a new next is published
    (security administrator)."""
    with security_act(acting) as (admin, actor):
        rotated = key_status.rotate_token_keys(admin, actor, purpose=purpose, force=force)
    if as_json:
        typer.echo(json.dumps({"active": rotated["active"], "next": rotated["next"]}))
    else:
        typer.echo(f"active {rotated['active']}\nnext   {rotated['next']}")


def _set_status(
    *,
    ca: str,
    serial: str,
    status: key_status.CertificateStatus,
    acting: str | None,
    reason: str = "unspecified",
) -> None:
    with security_act(acting) as (admin, actor):
        certificate = key_status.set_certificate_status(
            admin, actor, ca=ca, serial=serial, status=status, reason=reason
        )
    typer.echo(
        f"{ca}:{certificate['serial']} {certificate['status']}"
        + (f" ({certificate['revocation_reason']})" if status == "revoked" else "")
    )


@app.command("revoke")
def revoke(
    ca: CaOption,
    serial: SerialOption,
    reason: Annotated[
        str, typer.Option(help=f"RFC 5280 reason: {', '.join(REVOCATION_REASONS)}.")
    ] = "unspecified",
    acting: AsOption = None,
) -> None:
    """Revoke a certificate (final); it appears on the CRL and OCSP answers 'revoked'
    (security administrator)."""
    _set_status(ca=ca, serial=serial, status="revoked", reason=reason, acting=acting)


@app.command("suspend")
def suspend(ca: CaOption, serial: SerialOption, acting: AsOption = None) -> None:
    """Suspend a certificate (certificateHold); `keys reinstate` lifts it (security
    administrator)."""
    _set_status(ca=ca, serial=serial, status="suspended", acting=acting)


@app.command("reinstate")
def reinstate(ca: CaOption, serial: SerialOption, acting: AsOption = None) -> None:
    """Lift a suspension (security administrator)."""
    _set_status(ca=ca, serial=serial, status="good", acting=acting)


@app.command("export-root")
def export_root(
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead.")] = None,
    der: Annotated[bool, typer.Option("--der", help="DER instead of PEM.")] = False,
) -> None:
    """The root CA certificate that auditors and relying parties install as trust anchor."""
    with key_services() as services, services.database.reading() as session:
        certificate = services.hierarchy.ca_certificate(session, ROOT).der
    data = certificate if der else pem.armor("CERTIFICATE", certificate)
    if out:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


PassphraseFile = Annotated[
    Path | None, typer.Option("--passphrase-file", help="Read the passphrase from FILE, not stdin.")
]


def _write_new(path: Path, data: bytes) -> None:
    # Exclusive create with owner-only permissions from the first byte; never overwrite.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} exists; choose another file") from None
    except OSError as exc:
        raise CommandError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


@app.command("backup")
def backup_keys(
    out: Annotated[Path, typer.Option("--out", help="Bundle file to create.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write an encrypted bundle of every key and certificate (passphrase on stdin)."""
    passphrase = _read_secret(passphrase_file, "backup passphrase")
    with key_services() as services, services.database.snapshot() as session:
        bundle = backup.export_bundle(session, kek=services.custody.kek, passphrase=passphrase)
        _write_new(out, bundle)  # inside the transaction: the event only if the file exists
        services.events.record(
            session, type="key.backup", actor=ACTOR, subject="custody", details={"file": out.name}
        )
    typer.echo(f"wrote {out}")


@app.command("restore")
def restore_keys(
    source: Annotated[Path, typer.Option("--in", help="Bundle file to read.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Restore a bundle into an installation with no keys yet (passphrase on stdin)."""
    passphrase = _read_secret(passphrase_file, "backup passphrase")
    bundle = source.read_bytes()
    with key_services(create=True) as services, services.database.transaction() as session:
        count = backup.restore_bundle(
            session, kek=services.custody.kek, bundle=bundle, passphrase=passphrase
        )
        services.events.record(
            session, type="key.restored", actor=ACTOR, subject="custody", details={"keys": count}
        )
    typer.echo(f"restored {count} keys")


@app.command("root-offline")
def root_offline(
    out: Annotated[Path, typer.Option("--out", help="Bundle file for the root key.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Export the root CA key (encrypted), pre-sign a one-year root CRL, remove the key."""
    passphrase = _read_secret(passphrase_file, "passphrase")
    with key_services() as services, services.database.transaction() as session:
        bundle = backup.take_root_offline(
            session, hierarchy=services.hierarchy, passphrase=passphrase, actor=ACTOR
        )
        _write_new(out, bundle)  # inside the transaction: no file, no change
    typer.echo(f"the root CA key is offline; keep {out} in a safe place")


@app.command("root-online")
def root_online(
    source: Annotated[Path, typer.Option("--in", help="Bundle from `keys root-offline`.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Bring the root CA key back from its offline bundle."""
    passphrase = _read_secret(passphrase_file, "passphrase")
    with key_services() as services, services.database.transaction() as session:
        key_id = backup.bring_root_online(
            session,
            hierarchy=services.hierarchy,
            bundle=source.read_bytes(),
            passphrase=passphrase,
            actor=ACTOR,
        )
    typer.echo(f"root CA key {key_id} is online")
