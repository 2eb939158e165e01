"""Upstream OpenID providers (the provincial platform) as administrators see and change them.

Rules: the system administrator registers upstreams, disables and re-enables them; all three
platform roles read them. The registration rules themselves (discovery URL, maps, the sealed
client secret) are ``idp.upstreams``'. The client secret is given once, by the act that
registers the upstream, and never returned, logged or shown again.
"""

from __future__ import annotations

from typing import Any

from admin import policy
from admin.actors import SYSTEM, Actor
from admin.errors import Conflict, Invalid, NotFound
from admin.service import Administration
from idp import upstreams
from idp.models import PLATFORM_ROLES, UpstreamProvider
from idp.upstreams import UpstreamError, UpstreamExists


def list_upstreams(admin: Administration, actor: Actor) -> list[dict[str, Any]]:
    """Every upstream, by id (platform roles)."""
    with admin.reading(actor, "upstreams.list") as session:
        if not policy.setting_up(session, actor):
            policy.require_role(actor, *PLATFORM_ROLES)
        return [upstreams.view(u) for u in upstreams.all_upstreams(session)]


def get(admin: Administration, actor: Actor, *, upstream_id: str) -> dict[str, Any]:
    """One upstream (platform roles)."""
    with admin.reading(actor, "upstreams.read") as session:
        if not policy.setting_up(session, actor):
            policy.require_role(actor, *PLATFORM_ROLES)
        found = session.get(UpstreamProvider, upstream_id)
        if found is None:
            raise NotFound(f"there is no upstream {upstream_id!r}")
        return upstreams.view(found)


def create(admin: Administration, actor: Actor, **registration: Any) -> dict[str, Any]:
    """Register an upstream (system administrator); ``registration`` holds the keywords of
    ``idp.upstreams.create`` (``upstream_id``, names, discovery URL, client credentials,
    scopes, claim/acr/amr maps, trusted proofing level)."""
    with admin.acting(actor, "upstreams.create") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            created = upstreams.create(
                session,
                data_keys=admin.data_keys,
                events=admin.events,
                actor=actor.label,
                **registration,
            )
        except UpstreamExists as exc:
            raise Conflict(str(exc)) from None
        except UpstreamError as exc:
            raise Invalid(str(exc)) from None
        return upstreams.view(created)


def set_disabled(
    admin: Administration, actor: Actor, *, upstream_id: str, disabled: bool
) -> dict[str, Any]:
    """Disable (its button disappears, its callbacks are refused) or re-enable an upstream
    (system administrator)."""
    with admin.acting(actor, "upstreams.disable" if disabled else "upstreams.enable") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            changed = upstreams.set_disabled(
                session,
                events=admin.events,
                actor=actor.label,
                upstream_id=upstream_id,
                disabled=disabled,
            )
        except LookupError:
            raise NotFound(f"there is no upstream {upstream_id!r}") from None
        return upstreams.view(changed)
