"""``tongxing seals``, ``tongxing grants`` and ``tongxing verify``: the seal registry, who may
use which seal, and offline verification of sealed PDFs.

The composition root joins the two sides here: organisations, people and clients live in
``idp``, seals and grants in ``seal``, and neither package imports the other.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from core.clock import as_utc
from idp import repository as idp_repository
from keys.seal_certificates import SEAL_DAYS
from seal import grants as seal_grants
from seal import registry, repository
from seal.errors import SealError
from seal.models import Seal, SealGrant
from seal.registry import RegistryError
from tongxing.cli.runtime import ADMIN_ACTOR, AdminCommandError, admin_domain

seals = typer.Typer(help="Electronic seals of organisations.", no_args_is_help=True)
grants = typer.Typer(help="Which client may apply which seal.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
SealArgument = Annotated[str, typer.Argument(help="The seal id (seal_...).")]


def _seal_view(seal: Seal) -> dict[str, Any]:
    return {
        "id": seal.id,
        "organisation": seal.organisation_name,
        "uscc": seal.organisation_uscc,
        "name": seal.name,
        "type": seal.type,
        "status": seal.status,
        "image": seal.image_source,
        "certificate_serial": seal.certificate_serial,
        "valid_from": as_utc(seal.valid_from).isoformat(),
        "valid_until": as_utc(seal.valid_until).isoformat(),
    }


def _grant_view(grant: SealGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "seal_id": grant.seal_id,
        "client_id": grant.client_id,
        "status": grant.status,
        "until": as_utc(grant.not_after).isoformat() if grant.not_after else None,
        "max_uses": grant.max_uses,
        "uses": grant.uses,
        "document_types": grant.document_types,
        "approved_by": grant.approved_by,
    }


def _refused(exc: Exception) -> AdminCommandError:
    return AdminCommandError(exc.detail if isinstance(exc, SealError) else str(exc))


@seals.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="Organisation id or USCC.")],
    seal_type: Annotated[
        str, typer.Option("--type", help=f"One of: {', '.join(registry.SEAL_TYPES)}.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="Default: org + type.")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="A PNG with a transparent background.")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=3650)] = SEAL_DAYS,
    as_json: JsonOption = False,
) -> None:
    """Create a seal (new key and certificate); prints the seal id alone on the last line."""
    png = image.read_bytes() if image else None
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        organisation = idp_repository.organisation(session, org)
        if organisation is None:
            raise AdminCommandError(f"there is no organisation {org!r}")
        if organisation.disabled:
            raise AdminCommandError(f"organisation {org!r} is disabled")
        try:
            seal = registry.create_seal(
                session,
                hierarchy=domain.keys.hierarchy,
                organisation_name=organisation.name,
                organisation_uscc=organisation.uscc,
                seal_type=seal_type,
                name=name,
                image_png=png,
                font=domain.keys.custody.settings.seal_font,
                actor=ADMIN_ACTOR,
                days=days,
            )
        except (RegistryError, SealError) as exc:
            raise _refused(exc) from None
        view = _seal_view(seal)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(f"created seal {view['name']} for {view['organisation']}")
        typer.echo(view["id"])


@seals.command("list")
def list_seals(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation (USCC).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List seals."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        uscc = None
        if org:
            organisation = idp_repository.organisation(session, org)
            uscc = organisation.uscc if organisation else org
        views = [_seal_view(s) for s in repository.seals(session, organisation_uscc=uscc)]
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        typer.echo(
            f"{v['id']}  {v['status']:<9}  {v['type']:<11}  {v['name']}  "
            f"(until {v['valid_until'][:10]})"
        )


def _status_command(action: str, seal_id: str, **options: Any) -> None:
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        operation = getattr(registry, action)
        try:
            seal = operation(
                session,
                hierarchy=domain.keys.hierarchy,
                seal_id=seal_id,
                actor=ADMIN_ACTOR,
                **options,
            )
        except (RegistryError, SealError) as exc:
            raise _refused(exc) from None
        typer.echo(f"seal {seal.id} is {seal.status} (certificate {seal.certificate_serial})")


@seals.command("suspend")
def suspend(seal_id: SealArgument) -> None:
    """Suspend a seal: it cannot seal, and its certificate is on hold (CRL/OCSP)."""
    _status_command("suspend", seal_id)


@seals.command("resume")
def resume(seal_id: SealArgument) -> None:
    """Lift a suspension."""
    _status_command("resume", seal_id)


@seals.command("revoke")
def revoke(
    seal_id: SealArgument,
    reason: Annotated[
        str, typer.Option(help="RFC 5280 reason, e.g. key_compromise")
    ] = "cessation_of_operation",
) -> None:
    """Revoke a seal for good (its certificate is revoked)."""
    _status_command("revoke", seal_id, reason=reason)


@seals.command("renew")
def renew(
    seal_id: SealArgument,
    new_key: Annotated[bool, typer.Option("--new-key", help="Also replace the key.")] = False,
    days: Annotated[int, typer.Option("--days", min=1, max=3650)] = SEAL_DAYS,
) -> None:
    """Issue a new certificate for an active seal."""
    _status_command("renew", seal_id, new_key=new_key, days=days)


@seals.command("image")
def image(
    seal_id: SealArgument,
    out: Annotated[Path, typer.Option("--out", help="Where to write the PNG.")],
) -> None:
    """Write the seal's image (PNG) to a file."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            data = registry.get(session, seal_id).image
        except SealError as exc:
            raise _refused(exc) from None
    out.write_bytes(data)
    typer.echo(f"wrote {len(data)} bytes to {out}")


@grants.command("create")
def create_grant(
    client_id: Annotated[str, typer.Option("--client-id")],
    seal_id: Annotated[str, typer.Option("--seal")],
    approved_by: Annotated[
        str, typer.Option("--approved-by", help="Login of an admin of the seal's organisation.")
    ],
    until: Annotated[
        datetime | None, typer.Option("--until", help="End of the grant (ISO 8601, UTC).")
    ] = None,
    max_uses: Annotated[int | None, typer.Option("--max-uses", min=1)] = None,
    document_types: Annotated[
        list[str] | None, typer.Option("--document-type", help="Repeat to allow several.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Let a client apply a seal; prints the grant id alone on the last line."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        seal = repository.seal(session, seal_id)
        if seal is None:
            raise AdminCommandError(f"there is no seal {seal_id!r}")
        client = idp_repository.client(session, client_id)
        if client is None or client.disabled:
            raise AdminCommandError(f"there is no active client {client_id!r}")
        if "seal:sign" not in client.scopes or "client_credentials" not in client.grant_types:
            raise AdminCommandError(
                f"client {client_id!r} cannot get seal:sign tokens (register it with "
                "--grant-type client_credentials --scope seal:sign)"
            )
        approver = idp_repository.user_by_login(session, approved_by)
        organisation = idp_repository.organisation(session, seal.organisation_uscc)
        membership = (
            idp_repository.membership(session, organisation_id=organisation.id, user_id=approver.id)
            if approver and organisation
            else None
        )
        if membership is None or membership.role != "admin":
            raise AdminCommandError(
                f"{approved_by!r} is not an administrator of {seal.organisation_name}"
            )
        try:
            grant = seal_grants.create(
                session,
                events=domain.audit,
                seal_id=seal_id,
                client_id=client_id,
                approved_by=approved_by,
                actor=ADMIN_ACTOR,
                not_after=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
                max_uses=max_uses,
                document_types=document_types,
            )
        except RegistryError as exc:
            raise _refused(exc) from None
        view = _grant_view(grant)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(f"granted seal {seal_id} to {client_id}")
        typer.echo(view["id"])


@grants.command("list")
def list_grants(
    seal_id: Annotated[str | None, typer.Option("--seal")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
    as_json: JsonOption = False,
) -> None:
    """List grants."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        views = [
            _grant_view(g) for g in repository.grants(session, seal_id=seal_id, client_id=client_id)
        ]
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        uses = f"{v['uses']}/{v['max_uses'] or '∞'}"
        typer.echo(f"{v['id']}  {v['status']:<7}  {v['seal_id']} -> {v['client_id']}  uses {uses}")


@grants.command("revoke")
def revoke_grant(
    grant_id: Annotated[str, typer.Argument(help="The grant id (grant_...).")],
) -> None:
    """End a grant now."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            seal_grants.revoke(session, events=domain.audit, grant_id=grant_id, actor=ADMIN_ACTOR)
        except RegistryError as exc:
            raise _refused(exc) from None
    typer.echo(f"grant {grant_id} revoked")


def verify(
    file: Annotated[Path, typer.Argument(help="The sealed PDF.", exists=True, dir_okay=False)],
    root: Annotated[
        Path,
        typer.Option(
            "--root",
            help="Trust anchor: the root certificate (PEM or DER).",
            exists=True,
            dir_okay=False,
        ),
    ],
    online: Annotated[
        bool, typer.Option("--online", help="Fetch CRLs/OCSP named in the certificates.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Verify a sealed PDF offline against a root certificate (exit 0 only when every seal
    is TOTAL_PASSED). Revocation data comes from the document (B-LT/B-LTA) unless --online."""
    from core.logs import quiet_pdf_validation
    from seal.verification import document_context, verify_pdf

    quiet_pdf_validation()

    raw = root.read_bytes()
    if pem.detect(raw):
        _, _, raw = pem.unarmor(raw)
    try:
        anchor = asn1_x509.Certificate.load(raw)
        anchor.subject  # noqa: B018 - parse now: a bad file fails here, not mid-report
    except ValueError:
        raise AdminCommandError(f"{root} is not a certificate") from None

    def context(reader: Any, moment: datetime | None) -> Any:
        return document_context(reader, moment, anchor=anchor, online=online)

    try:
        report = verify_pdf(file.read_bytes(), context=context, anchors=[anchor], max_bytes=1 << 30)
    except SealError as exc:
        raise _refused(exc) from None
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{file}: {report['indication']}")
        for s in report["signatures"]:
            subject = s.get("signer", {}).get("subject", {})
            typer.echo(
                f"  {s['field']}: {s['indication']}"
                + (f"/{s['sub_indication']}" if s.get("sub_indication") else "")
                + f" — {subject.get('cn', '?')} ({subject.get('o', '?')})"
            )
            typer.echo(f"    {s['explanation']['zh-CN']} {s['explanation']['en']}")
    if report["indication"] != "TOTAL_PASSED":
        sys.exit(1)
