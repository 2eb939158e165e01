"""The fast lane: a few hot endpoints called straight from the edge, past the framework's
routing, dependency resolution and middleware layers.

Every relying party calls the token, userinfo, JWKS and discovery endpoints on each page
view of each person, and load balancers poll ``/healthz``. Measured on the project's
machine (uvicorn, one core), FastAPI answering fixed bytes reaches about a third of the
rate of the same bytes sent by a bare ASGI function: its per-request layers (error and
telemetry middleware, routing through every included router, dependency resolution,
response validation) cost more than these endpoints' own work.

The lane keeps the behaviour of the routes it short-cuts, because it runs the same code:

- **Matching** is by method and exact path only. Anything else (another method, a trailing
  slash, ``HEAD``) takes the normal way and gets the normal answer (404, 405 …).
- **The endpoint** is the very function the FastAPI route registers (and the OpenAPI
  document describes); the composition root binds its service argument once, instead of
  resolving it per request.
- **Errors**: an exception with a handler registered on the app (problem documents, 503
  when the store is down …) is answered by that handler, found by the exception's type as
  Starlette's ``ExceptionMiddleware`` finds it; any other exception goes up to the edge,
  which logs it and answers the generic 500 problem, as it does on the normal way.
- **The edge** (request id, security headers, body limit, metrics, access log) wraps the
  lane exactly as it wraps the framework; the metrics label is the route's path.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

LaneEndpoint = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Any]


@dataclass(frozen=True, slots=True)
class LaneRoute:
    """One short-cut endpoint; ``path`` is what the edge's metrics label it with."""

    method: str
    path: str
    endpoint: LaneEndpoint


class FastLane:
    """The short-cut routes of one app, and the ASGI function that answers them."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], LaneRoute] = {}
        self._handlers: dict[type[BaseException], ExceptionHandler] = {}

    def add(self, method: str, path: str, endpoint: LaneEndpoint) -> None:
        """Answer ``method path`` with ``endpoint`` (a route of the app with that method and
        path must exist: the lane short-cuts routes, it never adds one)."""
        self._routes[(method, path)] = LaneRoute(method, path, endpoint)

    def routes(self) -> list[LaneRoute]:
        """The short-cut routes, in the order they were added."""
        return list(self._routes.values())

    def use_exception_handlers(self, handlers: Mapping[Any, ExceptionHandler]) -> None:
        """Answer exceptions as the app does: its handlers keyed by exception class, except
        the catch-all for ``Exception`` (the edge logs those and answers 500)."""
        self._handlers = {
            key: handler
            for key, handler in handlers.items()
            if isinstance(key, type) and key is not Exception
        }

    def match(self, scope: Scope) -> LaneRoute | None:
        """The short-cut for this HTTP request, if it has one."""
        return self._routes.get((scope["method"], scope["path"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request whose :class:`LaneRoute` the caller put in ``scope["route"]``."""
        route: LaneRoute = scope["route"]
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        for cls in type(exc).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None
