"""``tongxing orgs authorise-agent``, ``agents`` and ``revoke-agent``: 经办人 authorisations
(rules in ``admin.agents``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from admin import agents
from admin.actors import SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    listed,
    refused,
    shares_sessions,
)
from tongxing.cli.users import JsonOption, OrgOption, UserOption

_SESSIONS_OUT_OF_REACH = (
    "注意：未配置共享存储（TONGXING_REDIS_URL），服务器上的登录会话与访问令牌撤销通知不在本命令"
    "可及范围内；刷新令牌已失效，登录时不再提供该授权。 / Note: no shared store "
    "(TONGXING_REDIS_URL): the servers' sessions and token revocation announcements are out of "
    "this command's reach; refresh tokens fail and sign-in no longer offers the authorisation."
)


def _moment(text: str | None, *, default: datetime, what: str) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AdminCommandError(f"{what} must be a date or an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def authorise_agent(
    org: OrgOption,
    user: UserOption,
    app: Annotated[
        list[str] | None,
        typer.Option("--app", help="A client id (repeat for several): 精准授权. None: 全业务."),
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="Start (ISO date or time, UTC); default now.")
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option("--until", help="End (ISO date or time, UTC); default +1 year.")
    ] = None,
    acting: AsOption = None,
) -> None:
    """Authorise a person to act for an organisation (its administrator, or the system
    administrator); prints the authorisation's id alone on the last line. The person
    accepts it on their account page."""
    start = _moment(valid_from, default=datetime.now(UTC), what="--from")
    end = _moment(valid_until, default=start + timedelta(days=365), what="--until")
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, organisation=org)
        try:
            view = agents.offer(
                administration(domain),
                actor,
                ref=org,
                person=user,
                scope="apps" if app else "all",
                apps=list(app or []),
                valid_from=start,
                valid_until=end,
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(view["id"])


def list_agents(org: OrgOption, as_json: JsonOption = False, acting: AsOption = None) -> None:
    """An organisation's agent authorisations."""
    rows = listed(
        acting,
        role=SYSTEM,
        organisation=org,
        page=lambda admin, actor, cursor: agents.list_agents(
            admin, actor, ref=org, limit=200, cursor=cursor
        ),
    )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        scope = "all" if r["scope"] == "all" else ",".join(r["apps"])
        typer.echo(
            f"{r['id']}  {r['username']:<16} {r['status']:<9} {scope:<24} "
            f"{r['valid_from']} – {r['valid_until']}"
        )


def revoke_agent(
    org: OrgOption,
    authorisation: Annotated[str, typer.Option("--id", help="The authorisation's id.")],
    acting: AsOption = None,
) -> None:
    """Revoke an agent authorisation now (tokens issued under it stop)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, organisation=org)
        admin = administration(domain)
        try:
            agents.revoke(admin, actor, ref=org, authorisation_id=authorisation)
        except AdminError as exc:
            raise refused(exc) from None
        if not shares_sessions(admin):
            typer.echo(_SESSIONS_OUT_OF_REACH, err=True)
    typer.echo(f"authorisation {authorisation} is revoked")


def register(orgs: typer.Typer) -> None:
    """Add these commands to ``tongxing orgs``."""
    orgs.command("authorise-agent")(authorise_agent)
    orgs.command("agents")(list_agents)
    orgs.command("revoke-agent")(revoke_agent)
