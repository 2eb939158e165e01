"""The console's upstream providers screen: the list for the platform roles, and the system
administrator's registering, disabling and re-enabling, on ``admin.upstreams``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import upstreams
from admin.console.web import ConsoleDep, act, page
from admin.errors import Invalid
from idp.ticket_bridge import MAPPINGS

router = APIRouter(prefix="/admin/upstreams", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]


@router.get("")
async def list_page(c: ConsoleDep) -> Response:
    """Every upstream provider."""

    def build() -> dict[str, Any]:
        return {
            "upstreams": upstreams.list_upstreams(c.admin, c.actor),
            "ok": c.request.query_params.get("ok") == "1",
            "protocols": ["oidc", *(f"ticket:{name}" for name in MAPPINGS)],
        }

    return await run_in_threadpool(page, c, "upstreams.html", build)


def _pairs(text: str) -> dict[str, str]:
    """``key=value`` lines (blank lines skipped; a line without ``=`` maps to nothing)."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def _levels(text: str) -> dict[str, int]:
    levels: dict[str, int] = {}
    for key, value in _pairs(text).items():
        if not value.isdigit() or len(value) > 1:
            raise Invalid(f"the acr map gives {key} a level 1-4")
        levels[key] = int(value)
    return levels


@router.post("")
async def register(
    c: ConsoleDep,
    upstream_id: Annotated[str, Form(min_length=2, max_length=32)],
    name_zh: Annotated[str, Form(min_length=1, max_length=128)],
    name_en: Annotated[str, Form(min_length=1, max_length=128)],
    discovery_url: Annotated[str, Form(min_length=1, max_length=512)],
    client_id: Annotated[str, Form(min_length=1, max_length=255)],
    client_secret: Annotated[str, Form(min_length=1, max_length=512)],
    scopes: Annotated[str, Form(max_length=1000)] = "openid profile",
    claim_map: Annotated[str, Form(max_length=2000)] = "name=name",
    acr_map: Annotated[str, Form(max_length=2000)] = "",
    amr_map: Annotated[str, Form(max_length=2000)] = "",
    trusted_proofing_level: Annotated[str, Form(max_length=1)] = "",
    protocol: Annotated[str, Form(max_length=32)] = "oidc",
    csrf_token: Csrf = "",
) -> Response:
    """Register an upstream (system administrator); the secret is never shown again."""

    def run() -> None:
        upstreams.create(
            c.admin,
            c.actor,
            upstream_id=upstream_id.strip(),
            name_zh=name_zh,
            name_en=name_en,
            discovery_url=discovery_url.strip(),
            client_id=client_id.strip(),
            client_secret=client_secret,
            scopes=scopes.split(),
            claim_map=_pairs(claim_map),
            acr_map=_levels(acr_map),
            amr_map=_pairs(amr_map),
            trusted_proofing_level=int(trusted_proofing_level)
            if trusted_proofing_level.isdigit()
            else None,
            protocol=protocol,
        )

    return await act(c, "upstreams", csrf_token, run, "/admin/upstreams?ok=1")


@router.post("/{upstream_id}/disabled")
async def set_disabled(
    c: ConsoleDep,
    upstream_id: str,
    disabled: Annotated[bool, Form()] = True,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or re-enable one (system administrator)."""
    return await act(
        c,
        "upstreams",
        csrf_token,
        lambda: upstreams.set_disabled(
            c.admin, c.actor, upstream_id=upstream_id[:32], disabled=disabled
        ),
        "/admin/upstreams?ok=1",
    )
