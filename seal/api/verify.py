"""Verification for everybody: ``POST /seal/v1/verify`` (JSON report), the public record of
a sealing and a seal's image, and the ``/verify`` page (upload, or arrive from the QR code).

No token is needed: a verifier learns nothing the sealed document does not already show.
The page's upload form carries a CSRF token like every other form of the service.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from pathlib import Path
from typing import Annotated, Any

from asn1crypto import x509 as asn1_x509
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from core import csrf
from core.api import responses
from core.api.browser import browser_id, set_browser_cookie
from core.api.forms import fields_once
from core.errors import Problem
from core.i18n import pick_language
from seal import records, registry, repository
from seal.api.sign import SealingDep, read_pdf_upload
from seal.errors import SealError, TooManyVerifications, UnknownSeal
from seal.runtime import SealingService
from seal.verification import verify_pdf

router = APIRouter(tags=["verification"])
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
CSRF_PURPOSE = "seal-verify"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

TEXT: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "title": "电子印章验证",
        "brand": "通行 · 电子印章",
        "switch": "English",
        "intro": "上传盖章的 PDF 文件，检查印章是否真实有效、文件是否被篡改。",
        "upload": "选择 PDF 文件",
        "submit": "验证",
        "record": "登记信息（扫码验真）",
        "record_intro": "本系统的盖章登记如下。请上传您手中的文件，核对其与登记一致。",
        "document_id": "文件编号",
        "sealed_at": "盖章时间",
        "seal": "印章",
        "organisation": "单位",
        "uscc": "统一社会信用代码",
        "level": "签名级别",
        "signing_time": "签名时间",
        "timestamp": "可信时间戳",
        "revocation": "证书状态",
        "changes": "盖章后的修改",
        "audit": "审计日志",
        "audit_ok": "已记录（第 {index} 条，包含证明已验证）",
        "audit_missing": "未在本系统审计日志中找到",
        "chain": "证书链",
        "result": "验证结果",
        "no_record": "没有找到该文件的登记。",
        "seal_status": "印章状态",
        "seal_statuses": {"active": "有效", "suspended": "已暂停", "revoked": "已吊销"},
        "status": {"good": "有效", "revoked": "已吊销", "on_hold": "已暂停", "unknown": "无法确认"},
        "change": {
            "none": "无",
            "revocation_data": "仅添加了验证数据",
            "form_filling": "填写了表单",
            "annotations": "添加了批注",
            "other": "其他修改",
        },
        "indication": {
            "TOTAL_PASSED": "有效",
            "INDETERMINATE": "无法确定",
            "TOTAL_FAILED": "无效",
        },
        "bad_form": "页面已过期，请重新上传。",
    },
    "en": {
        "title": "Verify an electronic seal",
        "brand": "Tongxing · Electronic seals",
        "switch": "中文",
        "intro": "Upload a sealed PDF to check that its seal is genuine and valid and that the "
        "document was not altered.",
        "upload": "Choose a PDF",
        "submit": "Verify",
        "record": "Our record (from the QR code)",
        "record_intro": "This is what we recorded. Upload the document you hold to check that "
        "it matches.",
        "document_id": "Document id",
        "sealed_at": "Sealed at",
        "seal": "Seal",
        "organisation": "Organisation",
        "uscc": "Unified social credit code",
        "level": "Signature level",
        "signing_time": "Signing time",
        "timestamp": "Trusted timestamp",
        "revocation": "Certificate status",
        "changes": "Changes after sealing",
        "audit": "Audit log",
        "audit_ok": "Recorded (entry {index}, inclusion proof verified)",
        "audit_missing": "Not found in this service's audit log",
        "chain": "Certificate chain",
        "result": "Result",
        "no_record": "There is no record of this document.",
        "seal_status": "Seal status",
        "seal_statuses": {"active": "active", "suspended": "suspended", "revoked": "revoked"},
        "status": {
            "good": "valid",
            "revoked": "revoked",
            "on_hold": "suspended",
            "unknown": "cannot be confirmed",
        },
        "change": {
            "none": "none",
            "revocation_data": "validation data added only",
            "form_filling": "form fields filled in",
            "annotations": "comments added",
            "other": "other changes",
        },
        "indication": {
            "TOTAL_PASSED": "Valid",
            "INDETERMINATE": "Indeterminate",
            "TOTAL_FAILED": "Not valid",
        },
        "bad_form": "The page expired; please upload again.",
    },
}


def report_for(service: SealingService, data: bytes) -> dict[str, Any]:
    """The server-side report: our root and current CRLs, plus our records."""
    with service.database.transaction() as session:
        inputs = service.revocation_inputs(session)
    root, *issuing = (asn1_x509.Certificate.load(der) for der in inputs[0])
    return verify_pdf(
        data,
        # Now, with the current CRLs: our policy fails a seal whose certificate is revoked,
        # whenever that happened (the report says whether the timestamp came first).
        context=lambda _reader, _moment: service.context_from(*inputs),
        anchors=[root],
        intermediates=issuing,
        max_bytes=service.settings.seal_max_pdf_bytes,
        lookup=lambda digest: records.record_for(service.database, service.audit, digest),
    )


def _throttle(request: Request, service: SealingService) -> None:
    """Public verification is anonymous and costly: a budget per source address and minute
    (counted in the shared store, so it holds across app processes)."""
    address = request.client.host if request.client else "unknown"
    if ":" in address:  # IPv6: one budget per /64, the block a single client controls
        with contextlib.suppress(ValueError):
            address = str(ipaddress.ip_network(f"{address}/64", strict=False))
    minute = int(time.time() // 60)
    key = service.store.key("seal", "verify-rate", f"{address}:{minute}")
    limit = service.settings.seal_verifications_per_minute
    if service.store.incr(key, ttl=120) > limit:
        raise TooManyVerifications(
            f"at most {limit} verifications per minute from one address", retry_after=60
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
        _throttle(request, service)
        report = report_for(
            service, read_pdf_upload(file, limit=service.settings.seal_max_pdf_bytes)
        )
    except TooManyVerifications as exc:
        problem = exc.problem()
        raise Problem(
            status=problem.status,
            kind=problem.kind,
            title=problem.title,
            detail=exc.detail,
            headers={"Retry-After": "60"},
        ) from None
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
        raise Problem(status=404, kind="unknown-document", title="No such sealed document")
    return found


def _record(service: SealingService, document_id: str) -> dict[str, Any] | None:
    if not document_id.startswith("doc_") or len(document_id) > 32:
        return None
    with service.database.transaction() as session:
        document = repository.sealed_document(session, document_id)
        if document is None:
            return None
        seal = repository.seal(session, document.seal_id)
        result = {
            "document_id": document.id,
            "sealed_at": document.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "level": document.level,
            "seal": records.seal_summary(seal) if seal else {"id": document.seal_id},
            "signed_digest": document.signed_digest,
        }
        index, digest = document.audit_index, document.signed_digest
    result["audit_log"] = records.audit_evidence(
        service.database, service.audit, index=index, signed_digest=digest
    )
    return result


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
    return response


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
    try:
        _throttle(request, service)
        report = report_for(
            service, read_pdf_upload(file, limit=service.settings.seal_max_pdf_bytes)
        )
    except SealError as exc:
        return _page(
            request,
            service,
            error=exc.detail,
            record=record,
            document_id=document or None,
            status=exc.status,
        )
    return _page(request, service, report=report, record=record, document_id=document or None)
