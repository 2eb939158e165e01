"""Caps the size of every request body (``TONGXING_MAX_REQUEST_BYTES``) before it is parsed.

A declared ``Content-Length`` over the cap is refused at once; a chunked body is counted as
it streams and refused as soon as it passes the cap. Either way the client gets a 413 problem.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import Problem, problem_response


def too_large(limit: int) -> Problem:
    """The 413 problem for a body over ``limit`` bytes."""
    return Problem(
        status=413,
        kind="request-too-large",
        title="Request body too large",
        detail=f"The request body exceeds the limit of {limit} bytes.",
        limit_bytes=limit,
    )


class BodyLimitMiddleware:
    """Rejects request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await problem_response(too_large(self.limit), instance=scope["path"])(
                scope, receive, send
            )
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
