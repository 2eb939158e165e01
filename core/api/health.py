"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from core.api.deps import ServicesDep
from core.readiness import NotReady

router = APIRouter(tags=["health"])


# One response object for every probe: nothing in it changes, and sending it changes nothing.
_HEALTHY = JSONResponse({"status": "ok"})


@router.get(
    "/healthz",
    summary="The process is up",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "The event loop runs",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"status": {"type": "string", "enum": ["ok"]}},
                        "required": ["status"],
                    }
                }
            },
        }
    },
)
async def healthz(request: Request) -> Response:
    """Answers as long as the event loop runs; checks no dependency."""
    return _HEALTHY


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
