"""``tongxing seals`` and ``tongxing verify``: seal applications and the seal registry
through the rule book (``admin.seal_applications``, ``admin.seals``), and offline
verification of sealed PDFs.

Every registry command names who acts (``--as``; required outside demo mode, where the
seeded holder of the needed role, or an administrator of the organisation, acts when it is
left out). ``seals create`` is the two-person path in one command: filed ``--as`` an
administrator of the organisation, approved ``--approve-as`` a security administrator.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from admin import seal_applications
from admin import seals as rules
from admin.actors import SECURITY
from admin.errors import AdminError
from keys.seal_certificates import SEAL_DAYS
from seal import registry
from seal.errors import SealError
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    listed,
    refused,
)

seals = typer.Typer(help="Electronic seals of organisations.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
SealArgument = Annotated[str, typer.Argument(help="The seal id (seal_...).")]
ApplicationArgument = Annotated[str, typer.Argument(help="The application id (sealapp_...).")]
OrgOption = Annotated[str, typer.Option("--org", help="Organisation id or USCC.")]
TypeOption = Annotated[
    str, typer.Option("--type", help=f"One of: {', '.join(registry.SEAL_TYPES)}.")
]
NameOption = Annotated[str | None, typer.Option("--name", help="Default: org + type.")]
ImageOption = Annotated[
    Path | None, typer.Option("--image", help="A PNG with a transparent background.")
]
DaysOption = Annotated[int, typer.Option("--days", min=1, max=3650)]


def _echo_seal(view: dict[str, Any], *, as_json: bool, done: str) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(done)
        typer.echo(view["id"])


@seals.command("apply")
def apply(
    org: OrgOption,
    seal_type: TypeOption,
    name: NameOption = None,
    image: ImageOption = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """File an application for a seal (an administrator of the organisation); a security
    administrator approves it. Prints the application id alone on the last line."""
    png = image.read_bytes() if image else None
    with admin_domain() as domain:
        actor = acting_as(domain, acting, organisation=org)
        try:
            view = seal_applications.apply(
                administration(domain),
                actor,
                organisation=org,
                seal_type=seal_type,
                name=name,
                image_png=png,
            )
        except AdminError as exc:
            raise refused(exc) from None
    _echo_seal(view, as_json=as_json, done=f"filed application for {view['organisation']}")


@seals.command("applications")
def applications(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved or rejected.")
    ] = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Seal applications, pending first."""
    views = listed(
        acting,
        role=SECURITY,
        page=lambda admin, actor, cursor: seal_applications.inbox(
            admin, actor, status=status, limit=200, cursor=cursor
        ),
    )
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        typer.echo(
            f"{v['id']}  {v['status']:<8}  {v['type']:<11}  {v['organisation']}  "
            f"by {v['applicant']}" + (f" -> {v['seal_id']}" if v["seal_id"] else "")
        )


@seals.command("approve")
def approve(
    application_id: ApplicationArgument,
    days: DaysOption = SEAL_DAYS,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve an application (a security administrator other than the applicant): the seal
    is made now. Prints the seal id alone on the last line."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            view = seal_applications.approve(
                administration(domain), actor, application_id=application_id, days=days
            )
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(f"approved {application_id}: seal made")
        typer.echo(view["seal_id"])


@seals.command("reject")
def reject(
    application_id: ApplicationArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the applicant).")],
    acting: AsOption = None,
) -> None:
    """Reject an application (a security administrator other than the applicant)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            seal_applications.reject(
                administration(domain), actor, application_id=application_id, reason=reason
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"application {application_id} rejected")


@seals.command("create")
def create(
    org: OrgOption,
    seal_type: TypeOption,
    name: NameOption = None,
    image: ImageOption = None,
    days: DaysOption = SEAL_DAYS,
    acting: AsOption = None,
    approve_as: Annotated[
        str | None,
        typer.Option(
            "--approve-as",
            help="Login of the security administrator approving (another person than --as; "
            "required outside demo mode).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Apply for a seal and approve it (two people: --as files, --approve-as approves); a
    new key and certificate. Prints the seal id alone on the last line."""
    png = image.read_bytes() if image else None
    with admin_domain() as domain:
        applicant = acting_as(domain, acting, organisation=org)
        approver = acting_as(domain, approve_as, role=SECURITY)
        admin = administration(domain)
        try:
            filed = seal_applications.apply(
                admin, applicant, organisation=org, seal_type=seal_type, name=name, image_png=png
            )
            decided = seal_applications.approve(
                admin, approver, application_id=filed["id"], days=days
            )
            view = rules.seal(admin, approver, decided["seal_id"])
        except AdminError as exc:
            raise refused(exc) from None
    _echo_seal(
        view, as_json=as_json, done=f"created seal {view['name']} for {view['organisation']}"
    )


@seals.command("list")
def list_seals(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List seals."""
    views = listed(
        acting,
        role=SECURITY,
        page=lambda admin, actor, cursor: rules.seals(
            admin, actor, organisation=org, limit=200, cursor=cursor
        ),
    )
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        typer.echo(
            f"{v['id']}  {v['status']:<9}  {v['type']:<11}  {v['name']}  "
            f"(until {v['valid_until'][:10]})"
        )


def _status_command(action: str, seal_id: str, acting: str | None, **options: Any) -> None:
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            view = getattr(rules, action)(administration(domain), actor, seal_id=seal_id, **options)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"seal {view['id']} is {view['status']} (certificate {view['certificate_serial']})")


@seals.command("suspend")
def suspend(seal_id: SealArgument, acting: AsOption = None) -> None:
    """Suspend a seal: it cannot seal, and its certificate is on hold (CRL/OCSP). A security
    administrator, or an administrator of the seal's organisation."""
    _status_command("suspend", seal_id, acting)


@seals.command("resume")
def resume(seal_id: SealArgument, acting: AsOption = None) -> None:
    """Lift a suspension (security administrator)."""
    _status_command("resume", seal_id, acting)


@seals.command("revoke")
def revoke(
    seal_id: SealArgument,
    reason: Annotated[
        str, typer.Option(help="RFC 5280 reason, e.g. key_compromise")
    ] = "cessation_of_operation",
    acting: AsOption = None,
) -> None:
    """Revoke a seal for good (security administrator; its certificate is revoked)."""
    _status_command("revoke", seal_id, acting, reason=reason)


@seals.command("renew")
def renew(
    seal_id: SealArgument,
    new_key: Annotated[bool, typer.Option("--new-key", help="Also replace the key.")] = False,
    days: DaysOption = SEAL_DAYS,
    acting: AsOption = None,
) -> None:
    """Issue a new certificate for an active seal (security administrator)."""
    _status_command("renew", seal_id, acting, new_key=new_key, days=days)


@seals.command("image")
def image(
    seal_id: SealArgument,
    out: Annotated[Path, typer.Option("--out", help="Where to write the PNG.")],
    acting: AsOption = None,
) -> None:
    """Write the seal's image (PNG) to a file."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            data = rules.image(administration(domain), actor, seal_id)
        except AdminError as exc:
            raise refused(exc) from None
    out.write_bytes(data)
    typer.echo(f"wrote {len(data)} bytes to {out}")


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
        raise AdminCommandError(exc.detail) from None
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
