"""Public PKI endpoints: CA certificates, CRLs, the OCSP responder and the TSA.

Protocol errors use the protocols' own status (OCSP ``malformedRequest``, TSA
``rejection``); everything else is a problem document.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from asn1crypto import pem
from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from core.api import responses
from core.errors import Problem
from keys import crl, ocsp_responder, tsa
from keys.api.deps import KeysDep
from keys.hierarchy import CA_NAMES, HierarchyError

router = APIRouter(prefix="/pki", tags=["pki"])

MAX_PROTOCOL_REQUEST = 64 * 1024
OCSP_REQUEST, OCSP_RESPONSE = "application/ocsp-request", "application/ocsp-response"
TSA_QUERY, TSA_REPLY = "application/timestamp-query", "application/timestamp-reply"


def _binary_body(media_type: str) -> dict[str, object]:
    """The request body of a DER protocol request, for the OpenAPI document."""
    schema = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "description": f"DER, at most {MAX_PROTOCOL_REQUEST} bytes (else 413)",
            "content": {media_type: {"schema": schema}},
        }
    }


def _unknown_ca(name: str) -> Problem:
    return Problem(
        status=404,
        kind="unknown-ca",
        title="Unknown certificate authority",
        detail=f"There is no CA called {name!r}; known CAs: {', '.join(CA_NAMES)}.",
    )


def _split(filename: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    name, dot, extension = filename.rpartition(".")
    if not dot or extension not in allowed:
        raise Problem(
            status=404,
            kind="not-found",
            title="Not Found",
            detail=f"Expected <ca>.{' or <ca>.'.join(allowed)}.",
        )
    if name not in CA_NAMES:
        raise _unknown_ca(name)
    return name, extension


@router.get(
    "/ca/{filename}",
    summary="A CA certificate (.crt DER, .pem PEM)",
    response_class=Response,
    responses={
        200: {
            "description": "The certificate",
            "content": {
                "application/pkix-cert": {"schema": {"type": "string", "format": "binary"}},
                "application/x-pem-file": {"schema": {"type": "string"}},
            },
        },
        **responses.NOT_FOUND,
        **responses.INVALID_REQUEST,
    },
)
def ca_certificate(filename: Annotated[str, Path()], keys: KeysDep) -> Response:
    """The current certificate of a CA of the hierarchy."""
    name, extension = _split(filename, ("crt", "cer", "pem"))
    with keys.database.reading() as session:
        try:
            der = keys.hierarchy.ca_certificate(session, name).der
        except HierarchyError:
            raise _unknown_ca(name) from None
    headers = {"Cache-Control": "public, max-age=3600"}
    if extension == "pem":
        return Response(
            pem.armor("CERTIFICATE", der), media_type="application/x-pem-file", headers=headers
        )
    return Response(der, media_type="application/pkix-cert", headers=headers)


@router.get(
    "/crl/{filename}",
    summary="The current CRL of a CA (DER)",
    response_class=Response,
    responses={
        200: responses.media("application/pkix-crl", "The CRL (DER)"),
        **responses.NOT_FOUND,
        503: responses.problem("The CA cannot sign a CRL now"),
        **responses.INVALID_REQUEST,
    },
)
def certificate_revocation_list(filename: Annotated[str, Path()], keys: KeysDep) -> Response:
    """A CRL no older than a few minutes, re-signed as soon as a status changes."""
    name, _ = _split(filename, ("crl",))
    with keys.database.transaction() as session:
        try:
            der, next_update = crl.current_crl(session, hierarchy=keys.hierarchy, ca_name=name)
        except HierarchyError as exc:
            raise Problem(
                status=503, kind="crl-unavailable", title="CRL unavailable", detail=str(exc)
            ) from None
    max_age = max(0, min(300, int((next_update - datetime.now(UTC)).total_seconds())))
    return Response(
        der,
        media_type="application/pkix-crl",
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


def _ocsp(keys: KeysDep, request_der: bytes) -> Response:
    with keys.database.reading() as session:
        answer = ocsp_responder.respond(session, hierarchy=keys.hierarchy, request_der=request_der)
    return Response(answer, media_type=OCSP_RESPONSE)


@router.post(
    "/ocsp",
    summary="OCSP (RFC 6960), POST",
    response_class=Response,
    responses={
        200: responses.media(OCSP_RESPONSE, "An OCSPResponse (malformedRequest for garbage)"),
        **responses.TOO_LARGE,
        **responses.UNSUPPORTED_MEDIA_TYPE,
    },
    openapi_extra=_binary_body(OCSP_REQUEST),
)
async def ocsp_post(request: Request, keys: KeysDep) -> Response:
    """Answer a DER OCSPRequest sent as the body."""
    body = await _protocol_body(request, OCSP_REQUEST)
    return await run_in_threadpool(_ocsp, keys, body)


@router.get(
    "/ocsp/{encoded:path}",
    summary="OCSP (RFC 6960 §A.1), GET",
    response_class=Response,
    responses={
        200: responses.media(OCSP_RESPONSE, "An OCSPResponse (malformedRequest for garbage)"),
        # A path segment no route matches (e.g. a raw line break) never reaches the handler.
        **responses.NOT_FOUND,
        **responses.INVALID_REQUEST,
    },
)
def ocsp_get(encoded: str, keys: KeysDep) -> Response:
    """Answer a base64 (URL-encoded) DER OCSPRequest given in the path."""
    try:
        der = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=False)
    except (binascii.Error, ValueError):
        der = b""
    return _ocsp(keys, der)


@router.post(
    "/tsa",
    summary="Time-stamping (RFC 3161)",
    response_class=Response,
    responses={
        200: responses.media(TSA_REPLY, "A TimeStampResp (status rejection for garbage)"),
        **responses.TOO_LARGE,
        **responses.UNSUPPORTED_MEDIA_TYPE,
    },
    openapi_extra=_binary_body(TSA_QUERY),
)
async def time_stamp(request: Request, keys: KeysDep) -> Response:
    """Answer a DER TimeStampReq with a TimeStampResp."""
    body = await _protocol_body(request, TSA_QUERY)

    def answer() -> bytes:
        with keys.database.reading() as session:
            return tsa.timestamp(session, hierarchy=keys.hierarchy, request_der=body)

    return Response(await run_in_threadpool(answer), media_type=TSA_REPLY)


async def _protocol_body(request: Request, media_type: str) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != media_type:
        raise Problem(
            status=415,
            kind="unsupported-media-type",
            title="Unsupported Media Type",
            detail=f"Send the request as {media_type}.",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PROTOCOL_REQUEST:
        raise Problem(
            status=413,
            kind="request-too-large",
            title="Request body too large",
            detail=f"Protocol requests are limited to {MAX_PROTOCOL_REQUEST} bytes.",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PROTOCOL_REQUEST:
            raise Problem(
                status=413,
                kind="request-too-large",
                title="Request body too large",
                detail=f"Protocol requests are limited to {MAX_PROTOCOL_REQUEST} bytes.",
            )
    return bytes(body)
