"""``tongxing grants``: which client may apply which seal, through the rule book
(``admin.grants``): requested by the system administrator or the client's organisation,
approved by an administrator of the seal's organisation.

``grants create --approved-by X`` is both steps in one command: requested ``--as`` (in demo
mode: the system administrator), approved by ``X``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from admin import grants as rules
from admin.actors import SECURITY, SYSTEM, Actor
from admin.errors import AdminError
from admin.service import Administration
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    listed,
    refused,
)
from tongxing.cli.seals import JsonOption
from tongxing.composition import Domain

grants = typer.Typer(help="Which client may apply which seal.", no_args_is_help=True)

GrantArgument = Annotated[str, typer.Argument(help="The grant id (grant_...).")]
UntilOption = Annotated[
    datetime | None, typer.Option("--until", help="End of the grant (ISO 8601, UTC).")
]
MaxUsesOption = Annotated[int | None, typer.Option("--max-uses", min=1)]
TypesOption = Annotated[
    list[str] | None, typer.Option("--document-type", help="Repeat to allow several.")
]


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=moment.tzinfo or UTC) if moment else None


def _echo(view: dict[str, Any], *, as_json: bool, done: str) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(done)
        typer.echo(view["id"])


def _request(
    acting: str | None,
    *,
    client_id: str,
    seal_id: str,
    until: datetime | None,
    max_uses: int | None,
    document_types: list[str] | None,
    approved_by: str | None = None,
) -> dict[str, Any]:
    with admin_domain() as domain:
        requester = acting_as(domain, acting, role=SYSTEM)
        admin = administration(domain)
        try:
            view = rules.request(
                admin,
                requester,
                seal_id=seal_id,
                client_id=client_id,
                until=_utc(until),
                max_uses=max_uses,
                document_types=document_types,
            )
        except AdminError as exc:
            raise refused(exc) from None
        if approved_by is None:
            return view
        approver = acting_as(domain, approved_by)
        try:
            return rules.approve(admin, approver, grant_id=view["id"])
        except AdminError as exc:
            raise AdminCommandError(
                f"{exc.detail} (the grant {view['id']} stays pending for an administrator of "
                "the seal's organisation)"
            ) from None


@grants.command("request")
def request(
    client_id: Annotated[str, typer.Option("--client-id")],
    seal_id: Annotated[str, typer.Option("--seal")],
    until: UntilOption = None,
    max_uses: MaxUsesOption = None,
    document_types: TypesOption = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask that a client may apply a seal (the system administrator, or an administrator of
    the client's organisation); it seals nothing until approved. Prints the grant id."""
    view = _request(
        acting,
        client_id=client_id,
        seal_id=seal_id,
        until=until,
        max_uses=max_uses,
        document_types=document_types,
    )
    _echo(view, as_json=as_json, done=f"requested seal {seal_id} for {client_id} (pending)")


@grants.command("create")
def create(
    client_id: Annotated[str, typer.Option("--client-id")],
    seal_id: Annotated[str, typer.Option("--seal")],
    approved_by: Annotated[
        str, typer.Option("--approved-by", help="Login of an admin of the seal's organisation.")
    ],
    until: UntilOption = None,
    max_uses: MaxUsesOption = None,
    document_types: TypesOption = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Request a grant (--as) and approve it (--approved-by, an administrator of the seal's
    organisation) in one go; prints the grant id alone on the last line."""
    view = _request(
        acting,
        client_id=client_id,
        seal_id=seal_id,
        until=until,
        max_uses=max_uses,
        document_types=document_types,
        approved_by=approved_by,
    )
    _echo(view, as_json=as_json, done=f"granted seal {seal_id} to {client_id}")


def _decider(domain: Domain, admin: Administration, acting: str | None, grant_id: str) -> Actor:
    """Who decides a grant: ``--as``; in demo mode, an administrator of the seal's
    organisation (an unknown grant is left for the rule book to refuse)."""
    organisation = rules.seal_organisation_of(admin, grant_id)
    if organisation is None:
        return acting_as(domain, acting, role=SECURITY)
    return acting_as(domain, acting, organisation=organisation)


@grants.command("approve")
def approve(
    grant_id: GrantArgument,
    until: UntilOption = None,
    max_uses: MaxUsesOption = None,
    document_types: TypesOption = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending grant (an administrator of the seal's organisation), optionally
    narrowing it: an earlier --until, fewer --max-uses, fewer --document-type."""
    with admin_domain() as domain:
        admin = administration(domain)
        approver = _decider(domain, admin, acting, grant_id)
        try:
            view = rules.approve(
                admin,
                approver,
                grant_id=grant_id,
                until=_utc(until),
                max_uses=max_uses,
                document_types=document_types,
            )
        except AdminError as exc:
            raise refused(exc) from None
    _echo(view, as_json=as_json, done=f"approved {grant_id}")


@grants.command("reject")
def reject(
    grant_id: GrantArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    acting: AsOption = None,
) -> None:
    """Reject a pending grant (an administrator of the seal's organisation)."""
    with admin_domain() as domain:
        admin = administration(domain)
        actor = _decider(domain, admin, acting, grant_id)
        try:
            rules.reject(admin, actor, grant_id=grant_id, reason=reason)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"grant {grant_id} rejected")


@grants.command("list")
def list_grants(
    seal_id: Annotated[str | None, typer.Option("--seal")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    acting: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List grants, pending first."""
    views = listed(
        acting,
        role=SECURITY,
        page=lambda admin, actor, cursor: rules.grants(
            admin,
            actor,
            seal_id=seal_id,
            client_id=client_id,
            status=status,
            limit=200,
            cursor=cursor,
        ),
    )
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        uses = f"{v['uses']}/{v['max_uses'] or '∞'}"
        typer.echo(f"{v['id']}  {v['status']:<8}  {v['seal_id']} -> {v['client_id']}  uses {uses}")


@grants.command("revoke")
def revoke(grant_id: GrantArgument, acting: AsOption = None) -> None:
    """End a grant now (security administrator, or an administrator of the seal's
    organisation)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            rules.revoke(administration(domain), actor, grant_id=grant_id)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"grant {grant_id} revoked")
