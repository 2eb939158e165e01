"""RFC 9457 problem details: one exception type, stable ``type`` URIs, and the app's handlers.

Security contract: an unexpected exception becomes a generic 500 problem carrying only the
request id; its message and traceback go to the log, never to the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core.database import UnstorableText
from core.request_context import current_request_id
from core.store import StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:tongxing:problem:"

log = logging.getLogger("tongxing.errors")


class Problem(StarletteHTTPException):
    """An error the client should see, rendered as ``application/problem+json``.

    ``kind`` is the stable machine-readable part (``type`` becomes ``urn:tongxing:problem:<kind>``);
    ``title`` is a short human summary; ``detail`` explains this occurrence. It subclasses
    Starlette's HTTPException so FastAPI's body parsing lets it through instead of turning it
    into a generic 400.
    """

    def __init__(
        self,
        *,
        status: int,
        kind: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(status_code=status, detail=detail or title, headers=headers)
        self.status = status
        self.kind = kind
        self.title = title
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON object of RFC 9457 §3, with our extension members."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
        }
        if self.detail != self.title:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        request_id = current_request_id()
        if request_id:
            body["request_id"] = request_id
        return body


class Refusal(Exception):
    """A domain refusal declared by its problem type: subclasses set ``kind``, ``status``
    and ``title`` as class attributes; ``detail`` explains this occurrence (and is the
    CLI's one-line error); ``extensions`` become extra members of the problem document."""

    kind = "refused"
    status = 400
    title = "Refused"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def problem(self) -> Problem:
        """The problem document for this refusal."""
        return Problem(
            status=self.status,
            kind=self.kind,
            title=self.title,
            detail=self.detail,
            **self.extensions,
        )


def problem_response(problem: Problem, *, instance: str | None = None) -> JSONResponse:
    """Render ``problem`` with the right media type and headers."""
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _kind_for_status(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "http-error"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, instance=request.url.path)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str | None:
    """Every method some route serves at the request's path. Starlette's 405 names only the
    methods of the first route matching the path, so a path with a GET route and a POST
    route (a list and its creation) would answer with ``Allow: GET`` alone (RFC 9110
    §15.5.6 wants them all). Asked of the top-level routes only (included routers answer
    for theirs), method by method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed) if allowed else None


async def _on_refusal(request: Request, exc: Exception) -> JSONResponse:
    # Routers let a domain refusal propagate; it is its own problem document.
    assert isinstance(exc, Refusal)
    return problem_response(exc.problem(), instance=request.url.path)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    known = exc.status_code in {status.value for status in HTTPStatus}
    title = HTTPStatus(exc.status_code).phrase if known else "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    problem = Problem(
        status=exc.status_code,
        kind=_kind_for_status(exc.status_code),
        title=title,
        detail=detail,
        headers=headers,
    )
    return problem_response(problem, instance=request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": [str(part) for part in err.get("loc", ())], "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    problem = Problem(
        status=422,
        kind="invalid-request",
        title="Invalid request",
        detail="The request parameters or body failed validation.",
        errors=errors,
    )
    return problem_response(problem, instance=request.url.path)


def invalid_text() -> Problem:
    """The 400 problem for text that holds a NUL character (see ``UnstorableText``)."""
    return Problem(
        status=400,
        kind="invalid-text",
        title="Invalid text",
        detail="A parameter contains a NUL character, which no text may contain.",
    )


async def _on_unstorable_text(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(invalid_text(), instance=request.url.path)


STORE_RETRY_AFTER_SECONDS = 5


def store_unavailable() -> Problem:
    """The 503 problem while the shared store cannot be reached."""
    return Problem(
        status=503,
        kind="store-unavailable",
        title="Temporarily unavailable",
        detail="The session store cannot be reached. Try again shortly.",
        headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )


async def _on_store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Not logged here: the store logs the outage once when it starts and once when it ends.
    return problem_response(store_unavailable(), instance=request.url.path)


def internal_error() -> Problem:
    """The 500 problem for an unexpected exception (its details go to the log only)."""
    return Problem(
        status=500,
        kind="internal-error",
        title="Internal server error",
        detail="The request failed; quote the request id when reporting.",
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Reached only for a failure in the edge itself: core.edge renders every other 500 while
    # the request id is still known.
    log.error("unhandled error", exc_info=exc)
    return problem_response(internal_error(), instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error the app returns an RFC 9457 problem document."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(Refusal, _on_refusal)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(UnstorableText, _on_unstorable_text)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
