"""``tongxing users`` and ``tongxing orgs``: people, organisations and memberships."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from admin import factors, organisations, people, proofing
from admin.actors import SECURITY, SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    read_secret,
    refused,
    shares_sessions,
)

users = typer.Typer(help="People (natural persons) who sign in.", no_args_is_help=True)
orgs = typer.Typer(help="Organisations (legal persons) and their members.", no_args_is_help=True)

_SESSIONS_OUT_OF_REACH = (
    "注意：未配置共享存储（TONGXING_REDIS_URL），服务器上的登录会话不在本命令可及范围内，"
    "未能结束；授权已撤销。 / Note: no shared store (TONGXING_REDIS_URL): the servers' "
    "sign-in sessions are out of this command's reach and were not ended; grants are revoked."
)
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
    proofing_level: Annotated[
        int,
        typer.Option(
            "--proofing-level",
            min=1,
            max=4,
            help="1 self-declared, 2 confirmed by an authority, 3 face check, 4 in person.",
        ),
    ] = 1,
    acting: AsOption = None,
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
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            view = people.create(
                administration(domain),
                actor,
                username=username,
                display_name=name,
                password=password,
                email=email,
                phone=phone,
                national_id=national_id,
                proofing_level=proofing_level,
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(view["id"])


@users.command("set-password")
def set_password(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    password_file: PasswordFile = None,
    acting: AsOption = None,
) -> None:
    """Replace a person's password (read from stdin or --password-file)."""
    password = read_secret(password_file, what="password")
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            people.set_password(administration(domain), actor, ref=login, password=password)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("password changed")


@users.command("disable")
def disable(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    acting: AsOption = None,
) -> None:
    """Disable an account (it can no longer sign in; its grants end)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            people.update(
                administration(domain),
                actor,
                ref=login,
                if_match=None,
                changes={"disabled": not enable},
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("enabled" if enable else "disabled")


@users.command("cancel-deletion")
def cancel_deletion(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    acting: AsOption = None,
) -> None:
    """Cancel the deletion a person asked for, within its grace period (system
    administrator): the account is enabled again unless it is locked."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM)
        try:
            view = people.cancel_deletion(administration(domain), actor, ref=login)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("deletion cancelled" + (" (still locked)" if view["locked"] else ""))


@users.command("lock")
def lock(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    unlock: Annotated[bool, typer.Option("--unlock", help="Unlock instead.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (audit log).")] = None,
    acting: AsOption = None,
) -> None:
    """Lock an account (security administrator): no sign-in, and every grant ends."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            people.lock(administration(domain), actor, ref=login, locked=not unlock, reason=reason)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("unlocked" if unlock else "locked")


@users.command("proof")
def proof(
    user: Annotated[str, typer.Option("--user", help="Username, email or phone.")],
    in_person: Annotated[
        bool,
        typer.Option("--in-person", help="Record a check in person at a counter (level 4)."),
    ] = False,
    lower_to: Annotated[
        int | None,
        typer.Option("--lower-to", min=1, max=3, help="Lower the level (identity in doubt)."),
    ] = None,
    note: Annotated[
        str, typer.Option("--note", help="What was seen at the counter, or why (audit log).")
    ] = "",
    national_id_stdin: Annotated[
        bool,
        typer.Option(
            "--national-id-stdin", help="Read the identity number seen at the counter from stdin."
        ),
    ] = False,
    acting: AsOption = None,
) -> None:
    """Record an in-person check (level 4, system administrator) or lower a person's
    proofing level (security administrator)."""
    if in_person == (lower_to is not None):
        raise AdminCommandError("give either --in-person or --lower-to N")
    national_id = read_secret(None, what="identity number") if national_id_stdin else None
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM if in_person else SECURITY)
        admin = administration(domain)
        try:
            view = proofing.set_level(
                admin,
                actor,
                ref=user,
                level=4 if in_person else int(lower_to or 1),
                note=note,
                national_id=national_id,
                if_match=None,
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{view['username']} L{view['proofing_level']} ({view['proofing_method']})")
    if lower_to is not None and not shares_sessions(admin):
        typer.echo(_SESSIONS_OUT_OF_REACH, err=True)


@users.command("reveal-national-id")
def reveal_national_id(
    login: Annotated[str, typer.Argument(help="Username, email or phone.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")],
    acting: AsOption = None,
) -> None:
    """Show a person's identity number in clear (system or security administrator; the
    look is audited). The number goes to stderr, like every secret the CLI shows."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM)
        try:
            shown = proofing.reveal_national_id(
                administration(domain), actor, ref=login, reason=reason
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(shown["national_id"], err=True)


@users.command("enrol-totp")
def enrol_totp(
    user: Annotated[str, typer.Option("--user", help="Username, email or phone.")],
    name: Annotated[str | None, typer.Option("--name", help="The authenticator's name.")] = None,
    acting: AsOption = None,
) -> None:
    """Enrol an authenticator app for a person who cannot sign in yet (security
    administrator). The otpauth:// URI is printed once, on stderr."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        try:
            done = factors.enrol_totp(administration(domain), actor, ref=user, name=name)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"otpauth URI (shown once): {done['uri']}", err=True)
    typer.echo(done["authenticator"]["id"])


@users.command("reset-factors")
def reset_factors(
    user: Annotated[str, typer.Option("--user", help="Username, email or phone.")],
    reason: Annotated[
        str, typer.Option("--reason", help="How the person was checked in person (audit log).")
    ],
    acting: AsOption = None,
) -> None:
    """Remove every second factor and recovery code of a person after an in-person check
    (security administrator), and sign them out everywhere (grants revoked, sessions
    ended, apps told)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SECURITY)
        admin = administration(domain)
        try:
            done = factors.reset_factors(admin, actor, ref=user, reason=reason)
        except AdminError as exc:
            raise refused(exc) from None
    removed, ended = done["removed"], done["signed_out"]
    typer.echo(
        f"removed {removed['authenticators']} authenticators and "
        f"{removed['recovery_codes']} recovery codes; "
        f"{ended['grants_ended']} grants revoked, {ended['sessions_ended']} sessions ended"
    )
    if not shares_sessions(admin):
        typer.echo(_SESSIONS_OUT_OF_REACH, err=True)


@users.command("list")
def list_users(as_json: JsonOption = False, acting: AsOption = None) -> None:
    """People, with the identity number masked."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        admin = administration(domain)
        try:
            rows = _all(lambda cursor: people.list_people(admin, actor, limit=200, cursor=cursor))
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['username']:<20} {r['display_name']:<16} {'L' + str(r['proofing_level']):<4} "
            f"{r['national_id'] or '-':<18} {'disabled' if r['disabled'] else ''}"
        )


def _all(fetch: Callable[[str | None], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item of a paged list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = fetch(cursor)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@orgs.command("create")
def create_org(
    name: Annotated[str, typer.Option("--name")],
    uscc: Annotated[str, typer.Option("--uscc", help="Unified social credit code.")],
    acting: AsOption = None,
) -> None:
    """Create an organisation; prints the new id alone on the last line."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            view = organisations.create(administration(domain), actor, name=name, uscc=uscc)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(view["id"])


OrgOption = Annotated[str, typer.Option("--org", help="Organisation id or credit code.")]
UserOption = Annotated[str, typer.Option("--user", help="Username, email or phone.")]


@orgs.command("add-member")
def add_member(
    org: OrgOption,
    user: UserOption,
    role: Annotated[str, typer.Option(help="admin | member")] = "member",
    acting: AsOption = None,
) -> None:
    """Give a person a role in an organisation (the system administrator, or an
    administrator of that organisation)."""
    if role not in ("admin", "member"):
        raise AdminCommandError("role must be admin or member")
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, organisation=org, setup=True)
        try:
            organisations.set_member(administration(domain), actor, ref=org, person=user, role=role)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{user} is {role} of {org}")


@orgs.command("remove-member")
def remove_member(org: OrgOption, user: UserOption, acting: AsOption = None) -> None:
    """End a person's membership (an organisation keeps at least one administrator)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, organisation=org)
        try:
            organisations.remove_member(administration(domain), actor, ref=org, person=user)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{user} is no longer a member of {org}")


@orgs.command("list")
def list_orgs(as_json: JsonOption = False, acting: AsOption = None) -> None:
    """Organisations."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        admin = administration(domain)
        try:
            rows = _all(
                lambda cursor: organisations.list_organisations(
                    admin, actor, limit=200, cursor=cursor
                )
            )
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['uscc']}  {r['name']}{'  (disabled)' if r['disabled'] else ''}")
