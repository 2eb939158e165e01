"""``tongxing users`` and ``tongxing orgs``: people, organisations and memberships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from idp import accounts, repository
from idp.accounts import AccountError
from tongxing.cli.runtime import ADMIN_ACTOR, AdminCommandError, admin_domain, read_secret

users = typer.Typer(help="People (natural persons) who sign in.", no_args_is_help=True)
orgs = typer.Typer(help="Organisations (legal persons) and their members.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin.")
]
PasswordFile = Annotated[
    Path | None, typer.Option("--password-file", help="Read the password from FILE.")
]


@users.command("create")
def create_user(
    username: Annotated[str, typer.Option("--username")],
    password_stdin: PasswordStdin = False,
    password_file: PasswordFile = None,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    national_id_stdin: Annotated[
        bool,
        typer.Option(
            "--national-id-stdin", help="Read the identity number from stdin (after the password)."
        ),
    ] = False,
    assurance: Annotated[
        str, typer.Option(help="unverified | verified_authority | verified_in_person")
    ] = "unverified",
) -> None:
    """Create a person; prints the new id alone on the last line."""
    if password_stdin and password_file:
        raise AdminCommandError("give the password on stdin or in a file, not both")
    # stdin carries, one per line and in this order: the password, the identity number.
    lines = iter(
        typer.get_text_stream("stdin").read().splitlines()
        if (password_stdin or national_id_stdin)
        else ()
    )
    password = None
    if password_file:
        password = read_secret(password_file, what="password")
    elif password_stdin:
        password = next(lines, "")  # kept exactly: spaces may be part of a password
        if not password:
            raise AdminCommandError("no password given on stdin")
    national_id = None
    if national_id_stdin:
        national_id = next(lines, "").strip()
        if not national_id:
            raise AdminCommandError("no identity number given on stdin")
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            user = accounts.create_user(
                session,
                data_keys=domain.data_keys,
                events=domain.audit,
                username=username,
                display_name=name,
                password=password,
                email=email,
                phone=phone,
                national_id=national_id,
                assurance=assurance,
                actor=ADMIN_ACTOR,
            )
        except AccountError as exc:
            raise AdminCommandError(str(exc)) from None
        user_id = user.id
    typer.echo(user_id)


@users.command("set-password")
def set_password(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    password_file: PasswordFile = None,
) -> None:
    """Replace a person's password (read from stdin or --password-file)."""
    password = read_secret(password_file, what="password")
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            accounts.set_password(
                session, events=domain.audit, login=login, password=password, actor=ADMIN_ACTOR
            )
        except AccountError as exc:
            raise AdminCommandError(str(exc)) from None
    typer.echo("password changed")


@users.command("disable")
def disable(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
) -> None:
    """Disable an account (it can no longer sign in)."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            accounts.set_disabled(
                session, events=domain.audit, login=login, disabled=not enable, actor=ADMIN_ACTOR
            )
        except AccountError as exc:
            raise AdminCommandError(str(exc)) from None
    typer.echo("enabled" if enable else "disabled")


@users.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """People, with the identity number masked."""
    with admin_domain() as domain, domain.keys.database.reading() as session:
        rows = [
            {
                "id": u.id,
                "username": u.username,
                "name": u.display_name,
                "email": u.email,
                "phone": u.phone,
                "assurance": u.assurance,
                "national_id": u.national_id_masked,
                "disabled": u.disabled,
            }
            for u in repository.users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['username']:<20} {r['name']:<16} {r['assurance']:<20} "
            f"{r['national_id'] or '-':<18} {'disabled' if r['disabled'] else ''}"
        )


@orgs.command("create")
def create_org(
    name: Annotated[str, typer.Option("--name")],
    uscc: Annotated[str, typer.Option("--uscc", help="Unified social credit code.")],
) -> None:
    """Create an organisation; prints the new id alone on the last line."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            organisation = accounts.create_organisation(
                session, events=domain.audit, name=name, uscc=uscc, actor=ADMIN_ACTOR
            )
        except AccountError as exc:
            raise AdminCommandError(str(exc)) from None
        organisation_id = organisation.id
    typer.echo(organisation_id)


@orgs.command("add-member")
def add_member(
    org: Annotated[str, typer.Option("--org", help="Organisation id or credit code.")],
    user: Annotated[str, typer.Option("--user", help="Username, email or phone.")],
    role: Annotated[str, typer.Option(help="admin | member")] = "member",
) -> None:
    """Give a person a role in an organisation."""
    with admin_domain() as domain, domain.keys.database.transaction() as session:
        try:
            accounts.add_member(
                session,
                events=domain.audit,
                organisation=org,
                login=user,
                role=role,
                actor=ADMIN_ACTOR,
            )
        except AccountError as exc:
            raise AdminCommandError(str(exc)) from None
    typer.echo(f"{user} is {role} of {org}")


@orgs.command("list")
def list_orgs(as_json: JsonOption = False) -> None:
    """Organisations."""
    with admin_domain() as domain, domain.keys.database.reading() as session:
        rows = [
            {"id": o.id, "name": o.name, "uscc": o.uscc, "disabled": o.disabled}
            for o in repository.organisations(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['uscc']}  {r['name']}")
