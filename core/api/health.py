"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core.api.deps import ServicesDep
from core.readiness import NotReady

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Answers as long as the event loop runs; checks no dependency."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and the store are reachable",
    responses={
        503: {
            "description": "A dependency failed (the same body, status unavailable)",
            "content": {"application/json": {}},
        }
    },
)
def readyz(services: ServicesDep) -> JSONResponse:
    """200 when every dependency answers, else 503 naming which failed and why."""
    checks: dict[str, dict[str, Any]] = {}
    probes = {"database": services.database.ping, "store": services.store.ping}
    probes.update(services.readiness)
    for name, probe in probes.items():
        started = time.perf_counter()
        try:
            probe()
            checks[name] = {"ok": True}
        except NotReady as exc:
            checks[name] = {"ok": False, "error": str(exc)}
        except Exception as exc:  # a probe must never turn readiness into a 500
            checks[name] = {"ok": False, "error": type(exc).__name__}
        checks[name]["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)
