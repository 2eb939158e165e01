"""The console's seal screens: the seal-application inbox (apply, approve, reject), seals
(image, certificate; suspend, resume, revoke) and grants (request, approve, reject, revoke).

Each form carries the ETag of the version it was rendered from, passed on as ``If-Match``:
a decision taken on a stale page is refused (412) like a stale API update.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import grants, seal_applications, seals, versions
from admin.console.web import Console, ConsoleDep, bad_form, done, page, refused
from admin.errors import AdminError, Invalid
from seal.registry import SEAL_TYPE_NAMES_EN, SEAL_TYPES

router = APIRouter(prefix="/admin", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
Version = Annotated[str | None, Form(max_length=64)]
ApplicationId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SealId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
GrantId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_IMAGE = 2 * 1024 * 1024


def _types(lang: str) -> dict[str, str]:
    return dict(SEAL_TYPES) if lang == "zh-CN" else dict(SEAL_TYPE_NAMES_EN)


def _with_versions(listing: dict[str, Any]) -> dict[str, Any]:
    return {**listing, "items": [{**i, "etag": versions.etag(i)} for i in listing["items"]]}


async def _act(c: Console, purpose: str, csrf: str, act: Callable[[], Any], back: str) -> Response:
    """Check the form's token, run one act of the rule book, go back (or show the refusal)."""
    if not c.csrf_ok(purpose, csrf):
        return bad_form(c)
    try:
        await run_in_threadpool(act)
    except AdminError as exc:
        return refused(c, exc)
    return done(f"{back}?ok=1")


# --- seal applications -----------------------------------------------------------------


@router.get("/seal-applications")
async def applications(c: ConsoleDep, cursor: str | None = None) -> Response:
    """The inbox: pending first."""

    def build() -> dict[str, Any]:
        return {
            "applications": _with_versions(
                seal_applications.inbox(c.admin, c.actor, cursor=cursor)
            ),
            "types": _types(c.lang),
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "applications.html", build)


@router.post("/seal-applications")
async def apply(
    c: ConsoleDep,
    seal_type: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=64)] = "",
    image: Annotated[UploadFile | None, File()] = None,
    csrf_token: Csrf = "",
) -> Response:
    """File an application for the organisation the administrator acts for."""
    png = await image.read(MAX_IMAGE + 1) if image is not None and image.filename else None
    if png is not None and len(png) > MAX_IMAGE:
        return refused(c, Invalid("the image is larger than 2 MiB"))
    return await _act(
        c,
        "applications",
        csrf_token,
        lambda: seal_applications.apply(
            c.admin,
            c.actor,
            # The organisation chosen at sign-in (the token's one): the rule book checks it.
            organisation=next(iter(sorted(c.actor.organisations)), ""),
            seal_type=seal_type,
            name=name.strip() or None,
            image_png=png or None,
        ),
        "/admin/seal-applications",
    )


@router.post("/seal-applications/{application_id}/{decision}")
async def decide_application(
    c: ConsoleDep,
    application_id: ApplicationId,
    decision: Literal["approve", "reject"],
    reason: Annotated[str, Form(max_length=500)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Approve (the seal is made now) or reject an application (a security administrator
    other than the applicant)."""

    def act() -> Any:
        if decision == "approve":
            return seal_applications.approve(
                c.admin, c.actor, application_id=application_id, if_match=version
            )
        return seal_applications.reject(
            c.admin, c.actor, application_id=application_id, reason=reason, if_match=version
        )

    return await _act(c, "applications", csrf_token, act, "/admin/seal-applications")


@router.get("/seal-applications/{application_id}/image")
async def application_image(c: ConsoleDep, application_id: ApplicationId) -> Response:
    """An uploaded seal image."""
    try:
        png = await run_in_threadpool(seal_applications.image, c.admin, c.actor, application_id)
    except AdminError as exc:
        return refused(c, exc)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


# --- seals -----------------------------------------------------------------------------------


@router.get("/seals")
async def seal_list(c: ConsoleDep, cursor: str | None = None) -> Response:
    """The seals the administrator may see, with their images and actions."""

    def build() -> dict[str, Any]:
        return {
            "seals": _with_versions(seals.seals(c.admin, c.actor, cursor=cursor)),
            "types": _types(c.lang),
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "seals.html", build)


@router.get("/seals/{seal_id}/image")
async def seal_image(c: ConsoleDep, seal_id: SealId) -> Response:
    """The seal's image (PNG)."""
    try:
        png = await run_in_threadpool(seals.image, c.admin, c.actor, seal_id)
    except AdminError as exc:
        return refused(c, exc)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/seals/{seal_id}/certificate.pem")
async def seal_certificate(c: ConsoleDep, seal_id: SealId) -> Response:
    """The seal's certificate (PEM)."""
    try:
        pem = await run_in_threadpool(seals.certificate, c.admin, c.actor, seal_id)
    except AdminError as exc:
        return refused(c, exc)
    return Response(pem, media_type="application/x-pem-file", headers={"Cache-Control": "no-store"})


@router.post("/seals/{seal_id}/{action}")
async def change_seal(
    c: ConsoleDep,
    seal_id: SealId,
    action: Literal["suspend", "resume", "revoke"],
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Suspend, resume or revoke a seal."""
    change = {"suspend": seals.suspend, "resume": seals.resume, "revoke": seals.revoke}[action]
    return await _act(
        c,
        "seals",
        csrf_token,
        lambda: change(c.admin, c.actor, seal_id=seal_id, if_match=version),
        "/admin/seals",
    )


# --- grants ----------------------------------------------------------------------------------


@router.get("/grants")
async def grant_list(c: ConsoleDep, cursor: str | None = None) -> Response:
    """Grants: pending first."""

    def build() -> dict[str, Any]:
        return {
            "grants": _with_versions(grants.grants(c.admin, c.actor, cursor=cursor)),
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "grants.html", build)


def _until(day: str) -> datetime | None:
    if not day:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(day).date(), time(23, 59, 59), UTC)
    except ValueError:
        raise Invalid("the date is not YYYY-MM-DD") from None


def _document_types(text: str) -> list[str] | None:
    found = [t.strip() for t in text.replace("，", ",").split(",") if t.strip()]
    return found or None


@router.post("/grants")
async def request_grant(
    c: ConsoleDep,
    seal_id: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str, Form(max_length=64)],
    until: Annotated[str, Form(max_length=10)] = "",
    max_uses: Annotated[int | None, Form(ge=1, le=100_000_000)] = None,
    document_types: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Ask that a client may apply a seal (pending until the seal's organisation approves)."""
    return await _act(
        c,
        "grants",
        csrf_token,
        lambda: grants.request(
            c.admin,
            c.actor,
            seal_id=seal_id.strip(),
            client_id=client_id.strip(),
            until=_until(until),
            max_uses=max_uses,
            document_types=_document_types(document_types),
        ),
        "/admin/grants",
    )


@router.post("/grants/{grant_id}/{decision}")
async def decide_grant(
    c: ConsoleDep,
    grant_id: GrantId,
    decision: Literal["approve", "reject", "revoke"],
    reason: Annotated[str, Form(max_length=500)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Approve or reject a pending grant; revoke an active one."""

    def act() -> Any:
        if decision == "approve":
            return grants.approve(c.admin, c.actor, grant_id=grant_id, if_match=version)
        if decision == "reject":
            return grants.reject(
                c.admin, c.actor, grant_id=grant_id, reason=reason, if_match=version
            )
        return grants.revoke(c.admin, c.actor, grant_id=grant_id, if_match=version)

    return await _act(c, "grants", csrf_token, act, "/admin/grants")
