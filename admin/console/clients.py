"""The console's client screens: the list, registration (the common kinds: a web site, a
browser or mobile app, a service account; optionally owned by an organisation), one
client's page (name and URIs, disable/enable, a new secret), on ``admin.clients``.

A generated secret is shown once, on the page answering the act that made it (never
stored by the console, never logged, ``Cache-Control: no-store``): no page shows it again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import clients, versions
from admin.console.web import (
    Console,
    ConsoleDep,
    act,
    bad_form,
    if_match,
    page,
    refused,
    render,
)
from admin.errors import AdminError
from idp import assurance

router = APIRouter(prefix="/admin/clients", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
Version = Annotated[str | None, Form(max_length=64)]
ClientId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Kind = Literal["web", "spa", "service"]
# What each kind is registered as (idp.clients checks the rest: URIs, scopes, roles).
KINDS: dict[str, dict[str, Any]] = {
    "web": {"grant_types": ["authorization_code", "refresh_token"], "auth_method": None},
    "spa": {"grant_types": ["authorization_code", "refresh_token"], "auth_method": "none"},
    "service": {"grant_types": ["client_credentials"], "auth_method": None},
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.get("")
async def client_list(
    c: ConsoleDep, cursor: Annotated[str | None, Query(max_length=256)] = None
) -> Response:
    """Clients by id (an organisation administrator: their organisation's)."""

    def build() -> dict[str, Any]:
        return {
            "clients": clients.list_clients(c.admin, c.actor, cursor=cursor),
            "ok": c.request.query_params.get("ok") == "1",
            "acr_values": assurance.ACR_VALUES,
        }

    return await run_in_threadpool(page, c, "clients.html", build)


def _secret_page(c: Console, view: dict[str, Any], secret: str | None) -> Response:
    if secret is None:  # a public client or private_key_jwt: nothing to show
        return render(c, c.request, "client.html", _client(c, view), status=201)
    return render(c, c.request, "client_secret.html", {"client": view, "secret": secret})


@router.post("")
async def register(
    c: ConsoleDep,
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    kind: Annotated[Kind, Form()],
    name: Annotated[str, Form(max_length=128)] = "",
    scopes: Annotated[str, Form(max_length=2000)] = "",
    redirect_uris: Annotated[str, Form(max_length=10_000)] = "",
    post_logout_redirect_uris: Annotated[str, Form(max_length=10_000)] = "",
    owner: Annotated[str, Form(max_length=32)] = "",
    min_acr: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Register a client; a generated secret is on this answer only."""
    if not c.csrf_ok("clients", csrf_token):
        return bad_form(c)
    try:
        view, secret = await run_in_threadpool(
            lambda: clients.create(
                c.admin,
                c.actor,
                client_id=client_id.strip(),
                name=name.strip(),
                scopes=scopes.split(),
                owner=owner.strip() or None,
                min_acr=min_acr.strip() or None,
                redirect_uris=_lines(redirect_uris),
                post_logout_redirect_uris=_lines(post_logout_redirect_uris),
                **KINDS[kind],
            )
        )
    except AdminError as exc:
        return refused(c, exc)
    return _secret_page(c, view, secret)


def _client(c: Console, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "client": {**view, "etag": versions.etag(view)},
        "acr_values": assurance.ACR_VALUES,
        "ok": c.request.query_params.get("ok") == "1",
    }


@router.get("/{client_id}")
async def client(c: ConsoleDep, client_id: ClientId) -> Response:
    """One client, with the forms the administrator's role allows."""
    return await run_in_threadpool(
        page,
        c,
        "client.html",
        lambda: _client(c, clients.get(c.admin, c.actor, client_id=client_id)),
    )


@router.post("/{client_id}/edit")
async def edit(
    c: ConsoleDep,
    client_id: ClientId,
    name: Annotated[str, Form(min_length=1, max_length=128)],
    redirect_uris: Annotated[str, Form(max_length=10_000)] = "",
    post_logout_redirect_uris: Annotated[str, Form(max_length=10_000)] = "",
    min_acr: Annotated[str, Form(max_length=64)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Rename, replace the browser URIs and set the minimum level (system administrator)."""
    return await act(
        c,
        "clients",
        csrf_token,
        lambda: clients.update(
            c.admin,
            c.actor,
            client_id=client_id,
            if_match=if_match(version),
            changes={
                "name": name.strip(),
                "redirect_uris": _lines(redirect_uris),
                "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
                "min_acr": min_acr.strip() or None,
            },
        ),
        f"/admin/clients/{client_id}?ok=1",
    )


@router.post("/{client_id}/secret")
async def new_secret(c: ConsoleDep, client_id: ClientId, csrf_token: Csrf = "") -> Response:
    """A new secret (the old one stops at once), shown on this answer only."""
    if not c.csrf_ok("clients", csrf_token):
        return bad_form(c)
    try:
        view, secret = await run_in_threadpool(
            lambda: clients.new_secret(c.admin, c.actor, client_id=client_id)
        )
    except AdminError as exc:
        return refused(c, exc)
    return _secret_page(c, view, secret)


@router.post("/{client_id}/{change}")
async def state(
    c: ConsoleDep,
    client_id: ClientId,
    change: Literal["disable", "enable"],
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or re-enable a client (system administrator)."""
    return await act(
        c,
        "clients",
        csrf_token,
        lambda: clients.update(
            c.admin,
            c.actor,
            client_id=client_id,
            if_match=if_match(version),
            changes={"disabled": change == "disable"},
        ),
        f"/admin/clients/{client_id}?ok=1",
    )
