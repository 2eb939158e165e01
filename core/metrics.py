"""Prometheus metrics for one app instance: request counts and latencies by route template.

Routes are labelled by their template (``/audit/v1/proof/inclusion``), never by the raw
path, so label cardinality stays bounded; unmatched paths share the label ``unmatched``.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMetrics:
    """The HTTP metric families, registered in a registry owned by one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "tongxing_http_requests",
            "HTTP requests served",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "tongxing_http_request_duration_seconds",
            "Time to serve an HTTP request",
            ("method", "route"),
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def new_registry() -> CollectorRegistry:
    """A fresh registry with process and platform collectors (one per app, not global)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class MetricsMiddleware:
    """Observes every HTTP request into :class:`HttpMetrics`."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(
                time.perf_counter() - started
            )
