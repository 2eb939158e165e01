"""Clients (relying parties and service accounts) as administrators see and change them.

Rules: the system administrator registers clients (optionally owned by an organisation),
renames them, replaces their browser URIs, disables and re-enables them and gives them a
new secret; all three platform roles read every client, an organisation administrator the
clients their organisation owns. The registration rules themselves (URIs, grant types, one
administrator role per service account) are ``idp.clients``'. A secret is returned once, by
the act that makes it, and never stored, logged or shown again (only its HMAC digest stays).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin import paging, policy, versions
from admin.actors import SYSTEM, Actor
from admin.errors import Conflict, Invalid, NotFound
from admin.service import Administration
from core.settings import Mode
from idp import assurance
from idp import clients as registry
from idp import repository as idp_repository
from idp.clients import ClientError
from idp.models import PLATFORM_ROLES, Client
from idp.role_scopes import PLATFORM_SCOPES


def view(client: Client) -> dict[str, Any]:
    """The API view of a client (never its secret or digest)."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "auth_method": client.auth_method,
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "jwks_uri": client.jwks_uri,
        "pairwise_sector": client.pairwise_sector,
        "first_party": bool(client.extra.get("first_party")),
        "owner_organisation_id": client.owner_organisation_id,
        "min_acr": assurance.acr(client.min_level) if client.min_level else None,
        "disabled": client.disabled,
        "created_at": versions.instant(client.created_at),
        "secret_rotated_at": (versions.instant(client.secret_rotated_at)),
    }


def min_level_of(min_acr: str | None) -> int | None:
    """The level a ``min_acr`` value names (None: no minimum); refused unless it is one of
    ``idp.assurance.ACR_VALUES``."""
    if min_acr is None or min_acr == "":
        return None
    level = assurance.level_of(min_acr)
    if min_acr not in assurance.ACR_VALUES or level is None:
        raise Invalid(f"min_acr must be one of {', '.join(assurance.ACR_VALUES)} or null")
    return level


def _readable(session: Session, actor: Actor, client_id: str) -> Client:
    """The client if the actor may read it; anyone else is refused before we say whether
    it exists."""
    client = idp_repository.client(session, client_id)
    if not policy.reads_everything(session, actor) and not (
        client is not None
        and client.owner_organisation_id is not None
        and actor.administers(client.owner_organisation_id)
    ):
        policy.require_role(actor, *PLATFORM_ROLES)
    if client is None:
        raise NotFound(f"there is no client {client_id!r}")
    return client


def _changeable(session: Session, client_id: str) -> Client:
    client = session.get(Client, client_id, with_for_update=True)
    if client is None:
        raise NotFound(f"there is no client {client_id!r}")
    if client.extra.get("admin_signin"):
        # The console relays every administrator's role: whoever could re-point its URIs,
        # re-key or disable it would collect or block the other roles' sign-ins.
        raise Conflict(f"{client_id} is the server's own console: the server keeps it")
    return client


def list_clients(
    admin: Administration,
    actor: Actor,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Clients by id: every one for platform roles, their organisation's for an
    organisation administrator."""
    with admin.reading(actor, "clients.list") as session:
        owners = policy.organisations_read(session, actor)
        rows = idp_repository.clients_page(
            session, after=paging.decode(cursor), limit=limit + 1, owners=owners
        )
        return paging.page(rows, limit=limit, key=lambda c: c.client_id).map(view)


def get(admin: Administration, actor: Actor, *, client_id: str) -> dict[str, Any]:
    """One client."""
    with admin.reading(actor, "clients.read") as session:
        return view(_readable(session, actor, client_id))


def _registrar_role(grant_types: list[str], scopes: list[str]) -> str:
    """Who registers (or re-keys) a client: the system administrator, except that a service
    account acting in another platform role is made by a holder of that role — otherwise
    the system administrator could make themselves a security or audit administrator
    through a machine (三权分立)."""
    if "client_credentials" in grant_types:
        for role, scope in PLATFORM_SCOPES.items():
            if scope in scopes:
                return role
    return SYSTEM


def create(
    admin: Administration,
    actor: Actor,
    *,
    client_id: str,
    grant_types: list[str],
    scopes: list[str],
    name: str = "",
    owner: str | None = None,
    secret: str | None = None,
    min_acr: str | None = None,
    **registration: Any,
) -> tuple[dict[str, Any], str | None]:
    """Register a client (system administrator); returns its view and the secret in clear
    when one was generated — the only time it is ever shown. ``owner`` is the owning
    organisation's id or credit code; ``registration`` the other keywords of
    ``idp.clients.register`` (URIs, auth method, first party...); ``min_acr`` the lowest
    ``acr`` its sign-ins may have (``urn:tongxing:loa:N``; None: no minimum)."""
    min_level = min_level_of(min_acr)
    with admin.acting(actor, "clients.create") as session:
        policy.require_role_or_setup(session, actor, _registrar_role(grant_types, scopes))
        owner_id = None
        if owner is not None:
            found = idp_repository.organisation(session, owner.strip().upper()) or (
                idp_repository.organisation(session, owner.strip())
            )
            if found is None:
                raise NotFound(f"there is no organisation {owner!r}")
            owner_id = found.id
        try:
            client, generated = registry.register(
                session,
                data_keys=admin.data_keys,
                events=admin.events,
                client_id=client_id,
                name=name,
                grant_types=grant_types,
                scopes=scopes,
                actor=actor.label,
                secret=secret,
                owner_organisation_id=owner_id,
                # This server posts to back-channel URIs: loopback http only in demo mode.
                loopback_server_uris=admin.settings.mode is Mode.DEMO,
                min_level=min_level,
                **registration,
            )
        except ClientError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(client), generated


def update(
    admin: Administration,
    actor: Actor,
    *,
    client_id: str,
    if_match: str | None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Rename, replace browser URIs, set the minimum ``min_acr`` (None removes it), disable
    or re-enable (system administrator)."""
    allowed = {"name", "redirect_uris", "post_logout_redirect_uris", "disabled", "min_acr"}
    if unknown := set(changes) - allowed:
        raise Invalid(f"these cannot be changed here: {', '.join(sorted(unknown))}")
    with admin.acting(actor, "clients.update") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        client = _changeable(session, client_id)
        versions.check(if_match, view(client))
        try:
            registry.update(
                session,
                events=admin.events,
                client=client,
                actor=actor.label,
                name=changes.get("name"),
                redirect_uris=changes.get("redirect_uris"),
                post_logout_redirect_uris=changes.get("post_logout_redirect_uris"),
                min_level=min_level_of(changes["min_acr"]) if "min_acr" in changes else "keep",
            )
        except ClientError as exc:
            raise Invalid(str(exc)) from None
        disabled = changes.get("disabled")
        if disabled is not None and disabled != client.disabled:
            registry.set_disabled(
                session,
                events=admin.events,
                client_id=client.client_id,
                disabled=bool(disabled),
                actor=actor.label,
            )
        session.flush()
        return view(client)


def new_secret(
    admin: Administration, actor: Actor, *, client_id: str, secret: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """Replace a confidential client's secret (system administrator); returns the view and
    the new secret when generated (shown this once; the old one stops at once)."""
    with admin.acting(actor, "clients.new_secret") as session:
        client = _changeable(session, client_id)
        policy.require_role_or_setup(
            session, actor, _registrar_role(client.grant_types, client.scopes)
        )
        try:
            generated = registry.rotate_secret(
                session,
                data_keys=admin.data_keys,
                events=admin.events,
                client_id=client.client_id,
                actor=actor.label,
                secret=secret,
            )
        except ClientError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(client), generated
