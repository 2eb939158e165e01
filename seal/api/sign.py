"""``POST /seal/v1/sign`` and ``POST /seal/v1/batch``: seal PDFs for certificate systems.

Both need a Bearer access token from our IdP with scope ``seal:sign`` and audience
``<issuer>/seal`` (client credentials, or a person's token an app exchanged: RFC 8693, see
:mod:`seal.delegation`); everything else (grant, seal, certificate) is checked
per document by :mod:`seal.sealing`. Refusals are problem documents with stable types.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from io import SEEK_END, BytesIO
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, Response

from core.api import responses
from core.api.forms import fields_once
from core.errors import Problem
from keys.access_tokens import AccessToken
from seal.api.deps import SealCaller, SealingDep
from seal.api.parameters import SealParameters, parse
from seal.delegation import check_seal, on_behalf_of
from seal.errors import InvalidSealRequest, PdfTooLarge, SealError
from seal.idempotency import Sealing, seal_once
from seal.runtime import SealingService

log = logging.getLogger("tongxing.seal")

router = APIRouter(prefix="/seal/v1", tags=["seals"])

OptionalForm = Annotated[str | None, Form()]

_REFUSALS: responses.Responses = {
    401: responses.problem("Missing or invalid access token"),
    403: responses.problem("Scope, grant, seal or certificate refuses the sealing"),
    404: responses.problem("No such seal"),
    **responses.UNPARSABLE_BODY,
    409: responses.problem("The Idempotency-Key is in use, or was used for another request"),
    **responses.TOO_LARGE,
    415: responses.problem("The upload is not a PDF"),
    422: responses.problem("Malformed or encrypted PDF, bad placement or parameters"),
}
_PDF_RESPONSE: responses.Responses = {
    200: responses.media(
        "application/pdf",
        "The sealed PDF. Headers: Tongxing-Document-Id, Tongxing-Audit-Index.",
    ),
    **_REFUSALS,
}


def read_pdf_upload(upload: UploadFile, *, limit: int) -> bytes:
    """The uploaded file, or :class:`PdfTooLarge` without reading past the limit.

    An upload Starlette kept in memory (``tongxing.app`` raises its spooling threshold to
    the PDF limit) is taken as the bytes object it already is, not copied by ``read``: one
    copy less of every upload (about 1 ms for 10 MiB)."""
    spooled = upload.file
    buffer = getattr(spooled, "_file", None)  # SpooledTemporaryFile's, while in memory
    if isinstance(buffer, BytesIO) and getattr(spooled, "_rolled", True) is False:
        if buffer.seek(0, SEEK_END) > limit:
            raise PdfTooLarge(f"the PDF is larger than {limit} bytes", limit_bytes=limit)
        return buffer.getvalue()  # the buffer itself, trimmed in place
    data = spooled.read(limit + 1)
    if len(data) > limit:
        raise PdfTooLarge(f"the PDF is larger than {limit} bytes", limit_bytes=limit)
    return data


def _seal(
    service: SealingService,
    *,
    token: AccessToken,
    parameters: SealParameters,
    data: bytes,
    idempotency_key: str | None,
) -> Sealing:
    check_seal(service, token, parameters.seal_id)
    behalf = on_behalf_of(token)
    described = parameters.model_dump()
    if behalf is not None:  # an idempotency key is bound to the person too
        described["on_behalf_of"] = behalf
    return seal_once(
        service,
        client_id=token.client_id,
        request=replace(parameters.to_request(), on_behalf_of=behalf),
        described=described,
        data=data,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/sign",
    summary="Seal one PDF (visible seal + PAdES signature); returns the sealed PDF",
    response_class=Response,
    responses=_PDF_RESPONSE,
    dependencies=[Depends(fields_once())],
)
def sign(
    token: SealCaller,
    service: SealingDep,
    file: Annotated[UploadFile, File(description="the PDF to seal")],
    seal_id: Annotated[str, Form(description="the seal to apply")],
    page: Annotated[str | None, Form(description="page number, from 1")] = None,
    x: Annotated[str | None, Form(description="seal centre, points from the left")] = None,
    y: Annotated[str | None, Form(description="seal centre, points from the bottom")] = None,
    anchor: Annotated[str | None, Form(description="centre the seal on this text")] = None,
    field: Annotated[str | None, Form(description="an existing empty signature field")] = None,
    level: Annotated[str | None, Form(description="B-B, B-T (default), B-LT or B-LTA")] = None,
    reason: OptionalForm = None,
    location: OptionalForm = None,
    document_type: Annotated[
        str | None, Form(description="checked against the grant's document types")
    ] = None,
    size_mm: Annotated[str | None, Form(description="seal diameter, 20-60 mm (42)")] = None,
    cross_page: Annotated[
        str | None, Form(description="also stamp a cross-page seal (骑缝章)")
    ] = None,
    qr: Annotated[str | None, Form(description="add the verification QR code (true)")] = None,
    certify: Annotated[
        str | None,
        Form(description="certify (DocMDP P=2): later seals only in existing empty fields"),
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    given = {
        "seal_id": seal_id,
        "page": page,
        "x": x,
        "y": y,
        "anchor": anchor,
        "field": field,
        "level": level,
        "reason": reason,
        "location": location,
        "document_type": document_type,
        "size_mm": size_mm,
        "cross_page": cross_page,
        "qr": qr,
        "certify": certify,
    }
    try:
        parameters = parse({k: v for k, v in given.items() if v not in (None, "")})
        data = read_pdf_upload(file, limit=service.settings.seal_max_pdf_bytes)
        sealing = _seal(
            service, token=token, parameters=parameters, data=data, idempotency_key=idempotency_key
        )
    except SealError as exc:
        raise exc.problem() from None
    result = sealing.result
    headers = {"Idempotency-Replayed": "true"} if sealing.replayed else {}
    if sealing.server_timing is not None:
        headers["Server-Timing"] = sealing.server_timing
    return Response(
        content=result.data,
        media_type="application/pdf",
        headers={
            "Tongxing-Document-Id": result.document_id,
            "Tongxing-Audit-Index": str(result.audit_index),
            "Content-Disposition": f'attachment; filename="{result.document_id}.pdf"',
            "Cache-Control": "no-store",
            **headers,
        },
    )


@router.post(
    "/batch",
    summary="Seal many PDFs in one request; each document gets its own result",
    responses={
        200: {"description": "One result per file, in order: the sealed PDF or a problem"},
        **_REFUSALS,
    },
    dependencies=[Depends(fields_once("files"))],
)
def batch(
    token: SealCaller,
    service: SealingDep,
    files: Annotated[list[UploadFile], File(description="the PDFs, in order")],
    items: Annotated[
        str,
        Form(
            description="JSON array, one object per file: the /sign parameters plus an "
            "optional idempotency_key"
        ),
    ],
) -> JSONResponse:
    try:
        specs = json.loads(items)
    except ValueError:
        raise InvalidSealRequest("items must be a JSON array").problem() from None
    if not isinstance(specs, list) or len(specs) != len(files):
        raise InvalidSealRequest(
            f"items must be a JSON array with one object per file ({len(files)})"
        ).problem()
    limit = service.settings.seal_max_batch
    if len(files) > limit:
        raise InvalidSealRequest(f"at most {limit} documents per batch", limit=limit).problem()
    results: list[dict[str, Any]] = []
    for index, (upload, spec) in enumerate(zip(files, specs, strict=True)):
        try:
            if not isinstance(spec, dict):
                raise InvalidSealRequest("each item must be a JSON object")
            spec = dict(spec)
            key = spec.pop("idempotency_key", None)
            parameters = parse(spec)
            data = read_pdf_upload(upload, limit=service.settings.seal_max_pdf_bytes)
            result = _seal(
                service,
                token=token,
                parameters=parameters,
                data=data,
                idempotency_key=str(key) if key is not None else None,
            ).result
        except SealError as exc:
            problem = exc.problem()
            results.append({"index": index, "status": problem.status, "problem": problem.body()})
            continue
        except Exception:  # one crashing document must not take the others down
            log.exception("batch item %d failed", index)
            problem = Problem(
                status=500,
                kind="internal-error",
                title="Internal server error",
                detail="This document failed and nothing was sealed for it.",
            )
            results.append({"index": index, "status": 500, "problem": problem.body()})
            continue
        results.append(
            {
                "index": index,
                "status": 200,
                "document_id": result.document_id,
                "audit_index": result.audit_index,
                "pdf": base64.b64encode(result.data).decode(),
            }
        )
    sealed = sum(1 for r in results if r["status"] == 200)
    return JSONResponse(
        {"sealed": sealed, "failed": len(results) - sealed, "results": results},
        headers={"Cache-Control": "no-store"},
    )
