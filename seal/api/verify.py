"""Verification for everybody: ``POST /seal/v1/verify`` (JSON report), the public record of
a sealing and a seal's image, and the ``/verify`` page (upload, or arrive from the QR code).

No token is needed: a verifier learns nothing the sealed document does not already show.
The page's upload form carries a CSRF token like every other form of the service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from core import csrf
from core.api import responses
from core.api.browser import browser_id, set_browser_cookie
from core.api.forms import fields_once
from core.i18n import pick_language, remember_choice
from seal import records, registry
from seal.api.deps import SealingDep
from seal.api.sign import read_pdf_upload
from seal.api.texts import TEXT, report_time, upload_error
from seal.errors import NotPdf, SealError, UnknownDocument, UnknownSeal
from seal.public_verification import report_for, spend_budget
from seal.runtime import SealingService

router = APIRouter(tags=["verification"])
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
CSRF_PURPOSE = "seal-verify"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _spend_budget(request: Request, service: SealingService) -> None:
    spend_budget(
        service.store,
        address=request.client.host if request.client else "unknown",
        limit=service.settings.seal_verifications_per_minute,
    )


@router.post(
    "/seal/v1/verify",
    summary="Verify a sealed PDF: a report per signature",
    dependencies=[Depends(fields_once())],
    responses={
        **responses.UNPARSABLE_BODY,
        **responses.TOO_LARGE,
        415: responses.problem("The upload is not a PDF"),
        422: responses.problem("Malformed or encrypted PDF, or a missing file"),
        429: responses.problem("Too many verifications from this address (Retry-After)"),
    },
)
def verify(
    request: Request,
    service: SealingDep,
    file: Annotated[UploadFile, File(description="the PDF to verify")],
) -> JSONResponse:
    try:
        _spend_budget(request, service)
        report = report_for(
            service, read_pdf_upload(file, limit=service.settings.seal_max_pdf_bytes)
        )
    except SealError as exc:
        raise exc.problem() from None
    return JSONResponse(report, headers={"Cache-Control": "no-store"})


@router.get(
    "/seal/v1/documents/{document_id}",
    summary="Our public record of one sealing",
    responses={**responses.NOT_FOUND, **responses.INVALID_REQUEST},
)
def document_record(service: SealingDep, document_id: str) -> dict[str, Any]:
    found = _record(service, document_id)
    if found is None:
        raise UnknownDocument("no sealing is recorded under this document id").problem()
    return found


def _record(service: SealingService, document_id: str) -> dict[str, Any] | None:
    return records.public_record(service.database, service.audit, document_id)


@router.get(
    "/seal/v1/seals/{seal_id}/image",
    summary="A seal's image (PNG)",
    response_class=Response,
    responses={
        200: responses.media("image/png", "The seal image"),
        **responses.NOT_FOUND,
        **responses.INVALID_REQUEST,
    },
)
def seal_image(service: SealingDep, seal_id: str) -> Response:
    try:
        with service.database.transaction() as session:
            image = registry.get(session, seal_id).image
    except UnknownSeal as exc:
        raise exc.problem() from None
    return Response(image, media_type="image/png", headers={"Cache-Control": "max-age=300"})


def _page(
    request: Request,
    service: SealingService,
    *,
    report: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
    error: str | None = None,
    document_id: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = pick_language(request)
    browser, new_browser = browser_id(request)
    token = csrf.token(
        key=service.data_key(csrf.DATA_KEY_PURPOSE), browser_id=browser, purpose=CSRF_PURPOSE
    )
    other = "en" if lang == "zh-CN" else "zh-CN"
    switch = f"/verify?lang={other}" + (f"&document={document_id}" if document_id else "")
    response = templates.TemplateResponse(
        request,
        "verify.html",
        {
            "lang": lang,
            "other_lang": other,
            "switch_url": switch,
            "t": TEXT[lang],
            "csrf_token": token,
            "report": report,
            "headline": _headline(report, lang) if report else None,
            "when": lambda value: report_time(value, lang),
            "record": record,
            "error": error,
            "document_id": document_id,
        },
        status_code=status,
        headers={
            "Content-Language": lang,
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-store",
            "Vary": "Accept-Language, Cookie",
        },
    )
    if new_browser:
        set_browser_cookie(response, browser, secure=service.settings.issuer.startswith("https:"))
    remember_choice(request, response)
    return response


def _headline(report: dict[str, Any], lang: str) -> str:
    """The one plain sentence under the verdict: why, for the signature that decided it."""
    deciding = [s for s in report["signatures"] if s["indication"] == report["indication"]]
    if len(report["signatures"]) == 1 or not deciding:
        source = deciding[0] if deciding else report
        if "explanation" in source:
            return str(source["explanation"][lang])
    return str(TEXT[lang]["summary"][report["indication"]])


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request, service: SealingDep, document: str | None = None) -> HTMLResponse:
    record = _record(service, document) if document else None
    error = TEXT[pick_language(request)]["no_record"] if document and record is None else None
    return _page(
        request,
        service,
        record=record,
        error=error,
        document_id=document,
        status=404 if error else 200,
    )


@router.post(
    "/verify",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(fields_once())],
)
def verify_upload(
    request: Request,
    service: SealingDep,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
    document: Annotated[str, Form()] = "",
) -> HTMLResponse:
    texts = TEXT[pick_language(request)]
    if not csrf.valid(
        key=service.data_key(csrf.DATA_KEY_PURPOSE),
        browser_id=request.cookies.get(csrf.BROWSER_COOKIE),
        purpose=CSRF_PURPOSE,
        presented=csrf_token,
    ):
        return _page(request, service, error=texts["bad_form"], status=403)
    record = _record(service, document) if document else None
    limit = service.settings.seal_max_pdf_bytes
    data = b""
    try:
        _spend_budget(request, service)
        data = read_pdf_upload(file, limit=limit)
        report = report_for(service, data)
    except SealError as exc:
        kind = "empty" if isinstance(exc, NotPdf) and not data else exc.kind
        return _page(
            request,
            service,
            error=upload_error(pick_language(request), kind, limit_bytes=limit),
            record=record,
            document_id=document or None,
            status=exc.status,
        )
    return _page(request, service, report=report, record=record, document_id=document or None)
