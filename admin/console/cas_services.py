"""The console's CAS services screen (system administrator): the list, registration by exact
service URL, disable/enable, on ``admin.cas_services``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import cas_services, versions
from admin.console.web import ConsoleDep, act, if_match, page
from idp import assurance

router = APIRouter(prefix="/admin/cas-services", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
Version = Annotated[str | None, Form(max_length=64)]
ServiceId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("")
async def service_list(
    c: ConsoleDep, cursor: Annotated[str | None, Query(max_length=256)] = None
) -> Response:
    """CAS services by URL, with the registration form."""

    def build() -> dict[str, Any]:
        listed = cas_services.list_services(c.admin, c.actor, cursor=cursor)
        listed["items"] = [{**s, "etag": versions.etag(s)} for s in listed["items"]]
        return {
            "services": listed,
            "ok": c.request.query_params.get("ok") == "1",
            "acr_values": assurance.ACR_VALUES,
        }

    return await run_in_threadpool(page, c, "cas_services.html", build)


@router.post("")
async def register(
    c: ConsoleDep,
    service: Annotated[str, Form(min_length=1, max_length=512)],
    name: Annotated[str, Form(max_length=128)] = "",
    min_acr: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Register a CAS service (system administrator)."""
    return await act(
        c,
        "cas-services",
        csrf_token,
        lambda: cas_services.create(
            c.admin,
            c.actor,
            service=service.strip(),
            name=name.strip(),
            min_acr=min_acr.strip() or None,
        ),
        "/admin/cas-services?ok=1",
    )


@router.post("/{service_id}/{change}")
async def state(
    c: ConsoleDep,
    service_id: ServiceId,
    change: Literal["disable", "enable"],
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or re-enable a CAS service (system administrator)."""
    return await act(
        c,
        "cas-services",
        csrf_token,
        lambda: cas_services.update(
            c.admin,
            c.actor,
            ref=service_id,
            if_match=if_match(version),
            changes={"disabled": change == "disable"},
        ),
        "/admin/cas-services?ok=1",
    )
