"""HTTP routers of ``core``: health, readiness, metrics and cluster view."""
