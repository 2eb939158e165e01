"""The edge of every HTTP request in one ASGI pass: request id, security headers, body limit,
metrics and the access-log line.

One middleware instead of four nested ones: a no-op request (``/healthz``) paid about half
its time for four wrapper coroutines, four copies of the response headers and a log record
built even when nobody reads it. Observable behaviour is that of the four it replaces:

- **Request id.** ``X-Request-ID`` is accepted when well-formed (``[A-Za-z0-9._:-]{1,64}``),
  else a fresh one is made; it is echoed on the response and available to the code serving
  the request through :func:`core.request_context.current_request_id`.
- **Security headers.** No framing, no sniffing, no referrer, ``Cache-Control: no-store``
  (identity responses are personal), a self-only CSP, and HSTS when the public issuer URL is
  https. A header the endpoint set itself wins (``/jwks`` sets its own ``Cache-Control``).
- **Body limit** (``TONGXING_MAX_REQUEST_BYTES``). A declared ``Content-Length`` over the cap
  is refused at once; a body without one (chunked) is counted as it streams and refused as
  soon as it passes the cap. Either way the client gets a 413 problem. A body with a declared
  length is not counted again: the server frames it by that length (RFC 9112 §6.3).
- **Metrics.** Requests and latencies by method, route *template* (never the raw path, so
  label cardinality stays bounded; unmatched paths share ``unmatched``) and status.
- **Access log** (logger ``tongxing.access``, INFO). Method, path (never the query string,
  which may carry codes or tokens), status, duration and client address; no headers and no
  bodies. Nothing is built when the logger is not enabled for INFO.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import Problem, internal_error, problem_response
from core.metrics import HttpMetrics
from core.request_context import request_id_var

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_INFO = logging.INFO
# Distinct (method, route, status) label sets whose metric children are kept at hand; the
# method of an unmatched request is the client's choice, so past this prometheus does the
# lookup (as it did for every request before).
_MAX_REMEMBERED_LABELS = 512

_ACCESS = "tongxing.access"
_NO_CLIENT = ("", 0)
access_log = logging.getLogger(_ACCESS)
errors_log = logging.getLogger("tongxing.errors")


def security_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    """The header set applied to responses; HSTS only when served over https."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        (b"content-security-policy", DEFAULT_CSP.encode()),
        (b"cache-control", b"no-store"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


def too_large(limit: int) -> Problem:
    """The 413 problem for a body over ``limit`` bytes."""
    return Problem(
        status=413,
        kind="request-too-large",
        title="Request body too large",
        detail=f"The request body exceeds the limit of {limit} bytes.",
        limit_bytes=limit,
    )


class EdgeMiddleware:
    """Request id, security headers, body limit, metrics and access log, in one pass."""

    def __init__(self, app: ASGIApp, *, https: bool, limit: int, metrics: HttpMetrics) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.headers = security_headers(https=https)
        self.header_names = frozenset(name for name, _ in self.headers)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming: bytes | None = None
        declared: bytes | None = None
        for key, value in scope["headers"]:  # the first of each, as Starlette reads them
            if key == b"x-request-id":
                if incoming is None:
                    incoming = value
            elif key == b"content-length" and declared is None:
                declared = value
        request_id = None
        if incoming is not None:
            text = incoming.decode("latin-1")
            if _WELL_FORMED.fullmatch(text):
                request_id = text
        if request_id is None:
            request_id = os.urandom(16).hex()
        id_header = (b"x-request-id", request_id.encode())
        token = request_id_var.set(request_id)
        status = 500
        own_headers = self.headers
        own_names = self.header_names

        responded = False

        async def edge_send(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = message.get("headers") or []
                if own_names.isdisjoint([name.lower() for name, _ in headers]):
                    extended = [*headers, *own_headers, id_header]
                else:
                    present = {name.lower() for name, _ in headers}
                    extended = [*headers, *(h for h in own_headers if h[0] not in present)]
                    extended.append(id_header)
                message = {**message, "headers": extended}
            await send(message)

        try:
            length = _length(declared) if declared is not None else None
            if length is not None and length > self.limit:
                response = problem_response(too_large(self.limit), instance=scope["path"])
                await response(scope, receive, edge_send)
            elif length is None:
                await self.app(scope, self._counting(receive), edge_send)
            else:
                await self.app(scope, receive, edge_send)
        except Exception as exc:
            if responded:  # too late for an answer of our own: the server drops the connection
                raise
            # Rendered here, not by Starlette's outermost handler, so the 500 carries the
            # request id it asks to be quoted (and the security headers).
            errors_log.error("unhandled error", exc_info=exc)
            response = problem_response(internal_error(), instance=scope["path"])
            await response(scope, receive, edge_send)
        finally:
            duration = time.perf_counter() - started
            self._observe(scope, status, duration)
            if access_log.isEnabledFor(_INFO):
                # Built directly, not through ``info()``: that would walk the stack to find
                # the caller, which the line does not print and which is always this one.
                access_log.handle(
                    access_log.makeRecord(
                        _ACCESS,
                        _INFO,
                        __file__,
                        0,
                        "request",
                        (),
                        None,
                        extra={
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "duration_ms": round(duration * 1000, 2),
                            "client": (scope.get("client") or _NO_CLIENT)[0],
                        },
                    )
                )
            request_id_var.reset(token)

    def _counting(self, receive: Receive) -> Receive:
        limit = self.limit
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        return counting_receive

    def _observe(self, scope: Scope, status: int, duration: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        labels = (scope["method"], route, status)
        children = self._children.get(labels)
        if children is None:
            children = (
                self.metrics.requests.labels(labels[0], route, str(status)),
                self.metrics.latency.labels(labels[0], route),
            )
            if len(self._children) < _MAX_REMEMBERED_LABELS:
                self._children[labels] = children
        children[0].inc()
        children[1].observe(duration)


def _length(value: bytes) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
