"""Operator endpoints: Prometheus metrics and the cluster's app instances."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from core.api import responses
from core.api.deps import ServicesDep
from core.api.ops_auth import require_ops

router = APIRouter(
    tags=["operations"],
    dependencies=[Depends(require_ops)],
    responses={
        401: responses.problem("The operator token is missing or wrong"),
        403: responses.problem("Operator endpoints are disabled (no TONGXING_OPS_TOKEN)"),
    },
)


class InstanceOut(BaseModel):
    """An app process of this deployment."""

    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    stopped_at: datetime | None
    live: bool
    this: bool


class InstancesOut(BaseModel):
    """Running and recently stopped app processes."""

    instances: list[InstanceOut]


@router.get(
    "/metrics",
    summary="Prometheus metrics of this app process",
    response_class=Response,
    responses={200: responses.media(CONTENT_TYPE_LATEST, "Prometheus text format", binary=False)},
)
def metrics(services: ServicesDep) -> Response:
    """Metrics in the Prometheus text exposition format."""
    return Response(generate_latest(services.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/ops/v1/instances", summary="App processes of this deployment")
def instances(services: ServicesDep) -> InstancesOut:
    """Every instance registered in the shared database, and whether its heartbeat is live."""
    own = services.membership.instance_id
    return InstancesOut(
        instances=[
            InstanceOut(**vars(member), this=member.id == own)
            for member in services.membership.members()
        ]
    )
