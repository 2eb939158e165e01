"""Prometheus metrics for one app instance: request counts and latencies by route template.

Routes are labelled by their template (``/audit/v1/proof/inclusion``), never by the raw
path, so label cardinality stays bounded; unmatched paths share the label ``unmatched``.
``core.edge.EdgeMiddleware`` observes every request into them.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


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
