"""The rule book of grants: which client may apply which seal.

Rules: a grant is requested by the system administrator (系统管理员) or by an administrator
of the organisation that owns the client (``Client.owner_organisation_id``), for a client
that can get ``seal:sign`` tokens; it stays ``pending`` — sealing nothing — until an
administrator of the *seal's* organisation approves it (and may narrow its terms: an
earlier end, fewer uses, fewer document types) or rejects it. An active grant is revoked
by the security administrator (安全管理员) or an administrator of the seal's organisation.
The platform administrators see every grant; an organisation administrator those of their
organisation's seals and of the clients their organisation owns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from admin import keyset, paging, policy, versions
from admin.actors import SECURITY, SYSTEM, Actor
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from admin.seals import find as find_seal
from admin.seals import organisation_id, readable_organisations
from admin.service import Administration
from core.clock import as_utc
from idp import repository as idp_repository
from idp.models import Client
from seal import grants as seal_grants
from seal import repository as seal_repository
from seal.models import Seal, SealGrant
from seal.registry import RegistryError

_RANK = case((SealGrant.status == "pending", 0), else_=1)


def view(grant: SealGrant) -> dict[str, Any]:
    """The API view of a grant."""
    return {
        "id": grant.id,
        "seal_id": grant.seal_id,
        "client_id": grant.client_id,
        "status": grant.status,
        "until": as_utc(grant.not_after).isoformat() if grant.not_after else None,
        "max_uses": grant.max_uses,
        "uses": grant.uses,
        "document_types": grant.document_types,
        "requested_by": grant.requested_by,
        "approved_by": grant.approved_by,
        "created_at": as_utc(grant.created_at).isoformat(),
        "revoked_at": as_utc(grant.revoked_at).isoformat() if grant.revoked_at else None,
    }


def _find(session: Session, grant_id: str, *, for_update: bool = False) -> SealGrant:
    row = seal_repository.grant(session, grant_id, for_update=for_update)
    if row is None:
        raise NotFound(f"there is no grant {grant_id!r}")
    return row


def _seal_organisation(session: Session, grant: SealGrant) -> str:
    return organisation_id(session, find_seal(session, grant.seal_id).organisation_uscc)


def _check_client(client: Client) -> None:
    if client.disabled:
        raise Conflict(f"client {client.client_id!r} is disabled")
    if "seal:sign" not in client.scopes or "client_credentials" not in client.grant_types:
        raise Invalid(
            f"client {client.client_id!r} cannot get seal:sign tokens (register it with "
            "--grant-type client_credentials --scope seal:sign)"
        )


def request(
    admin: Administration,
    actor: Actor,
    *,
    seal_id: str,
    client_id: str,
    until: datetime | None = None,
    max_uses: int | None = None,
    document_types: list[str] | None = None,
) -> dict[str, Any]:
    """Ask that ``client_id`` may apply ``seal_id`` on these terms (a pending grant)."""
    with admin.acting(actor, "grants.request") as session:
        client = idp_repository.client(session, client_id)
        if client is None:
            raise NotFound(f"there is no client {client_id!r}")
        policy.require_role_or_org_admin(
            actor, SYSTEM, organisation_id=client.owner_organisation_id or ""
        )
        _check_client(client)
        seal = find_seal(session, seal_id)
        if seal.status == "revoked":
            raise Conflict(f"seal {seal_id} is revoked")
        try:
            row = seal_grants.request(
                session,
                events=admin.events,
                seal_id=seal_id,
                client_id=client_id,
                actor=actor.label,
                not_after=until,
                max_uses=max_uses,
                document_types=document_types,
            )
        except RegistryError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(row)


def approve(
    admin: Administration,
    actor: Actor,
    *,
    grant_id: str,
    until: datetime | None = None,
    max_uses: int | None = None,
    document_types: list[str] | None = None,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Approve a pending grant (an administrator of the seal's organisation), optionally
    narrowing its terms; from now on the client may seal with it."""
    with admin.acting(actor, "grants.approve") as session:
        row = _find(session, grant_id, for_update=True)
        policy.require_org_admin(actor, _seal_organisation(session, row))
        policy.require_person(actor, what="approving a grant")
        # Four eyes: whoever asked for the grant does not approve it too.
        policy.require_other_person(actor, row.requested_by or "", what="approving a grant")
        versions.check(if_match, view(row))
        if row.status != "pending":
            raise Conflict(f"grant {grant_id} is {row.status}, not waiting for a decision")
        # The client may have changed since the request: it must still be able to seal.
        client = idp_repository.client(session, row.client_id)
        if client is None:
            raise Conflict(f"client {row.client_id!r} no longer exists")
        _check_client(client)
        try:
            seal_grants.approve(
                session,
                events=admin.events,
                grant_id=grant_id,
                actor=actor.label,
                not_after=until,
                max_uses=max_uses,
                document_types=document_types,
            )
        except RegistryError as exc:
            raise Invalid(str(exc)) from None
        return view(row)


def reject(
    admin: Administration,
    actor: Actor,
    *,
    grant_id: str,
    reason: str,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Reject a pending grant (an administrator of the seal's organisation)."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise Invalid("say why the grant is rejected (1 to 500 characters)")
    with admin.acting(actor, "grants.reject") as session:
        row = _find(session, grant_id, for_update=True)
        policy.require_org_admin(actor, _seal_organisation(session, row))
        policy.require_person(actor, what="rejecting a grant")
        versions.check(if_match, view(row))
        if row.status != "pending":
            raise Conflict(f"grant {grant_id} is {row.status}, not waiting for a decision")
        seal_grants.reject(
            session, events=admin.events, grant_id=grant_id, actor=actor.label, reason=reason
        )
        return view(row)


def revoke(
    admin: Administration, actor: Actor, *, grant_id: str, if_match: str | None = None
) -> dict[str, Any]:
    """End an active grant now (the security administrator, or an administrator of the
    seal's organisation)."""
    with admin.acting(actor, "grants.revoke") as session:
        row = _find(session, grant_id, for_update=True)
        policy.require_role_or_org_admin(
            actor, SECURITY, organisation_id=_seal_organisation(session, row)
        )
        versions.check(if_match, view(row))
        if row.status != "active":
            raise Conflict(f"grant {grant_id} is {row.status}; only an active grant is revoked")
        seal_grants.revoke(session, events=admin.events, grant_id=grant_id, actor=actor.label)
        return view(row)


def _readable(session: Session, actor: Actor, grant: SealGrant) -> None:
    scope = readable_organisations(session, actor)
    if scope is None:
        return
    seal = seal_repository.seal(session, grant.seal_id)
    client = idp_repository.client(session, grant.client_id)
    if (seal is not None and seal.organisation_uscc in scope) or (
        client is not None and client.owner_organisation_id in actor.organisations
    ):
        return
    raise Forbidden(
        f"{actor.label} administers neither the seal's nor the client's organisation of "
        f"grant {grant.id}",
        needed=["org-admin"],
    )


def grant(admin: Administration, actor: Actor, grant_id: str) -> dict[str, Any]:
    """One grant."""
    with admin.reading(actor, "grants.read") as session:
        row = _find(session, grant_id)
        _readable(session, actor, row)
        return view(row)


def _key(grant: SealGrant) -> str:
    rank = 0 if grant.status == "pending" else 1
    return keyset.key(created_at=grant.created_at, id=grant.id, rank=rank)


def grants(
    admin: Administration,
    actor: Actor,
    *,
    seal_id: str | None = None,
    client_id: str | None = None,
    status: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The grants the actor may see: pending first, then the others, oldest first."""
    with admin.reading(actor, "grants.list") as session:
        scope = readable_organisations(session, actor)
        query = select(SealGrant).where(
            keyset.after(
                paging.decode(cursor), created=SealGrant.created_at, ident=SealGrant.id, rank=_RANK
            )
        )
        if scope is not None:
            own_seals = select(Seal.id).where(Seal.organisation_uscc.in_(scope))
            own_clients = select(Client.client_id).where(
                Client.owner_organisation_id.in_(sorted(actor.organisations))
            )
            query = query.where(
                or_(SealGrant.seal_id.in_(own_seals), SealGrant.client_id.in_(own_clients))
            )
        if seal_id:
            query = query.where(SealGrant.seal_id == seal_id)
        if client_id:
            query = query.where(SealGrant.client_id == client_id)
        if status:
            query = query.where(SealGrant.status == status)
        query = query.order_by(_RANK, SealGrant.created_at, SealGrant.id).limit(limit + 1)
        return paging.page(session.scalars(query).all(), limit=limit, key=_key).map(view)


def seal_organisation_of(admin: Administration, grant_id: str) -> str | None:
    """The USCC of the organisation whose seal a grant is for (None when unknown): whose
    administrator decides it. Not an act; the CLI's demo mode picks its default with it."""
    with admin.database.reading() as session:
        row = seal_repository.grant(session, grant_id)
        seal = seal_repository.seal(session, row.seal_id) if row is not None else None
        return seal.organisation_uscc if seal is not None else None
