"""Access rule for operator endpoints (``/metrics``, ``/ops/*``).

Security contract: in demo mode they are open. Otherwise the caller must present
``Authorization: Bearer <TONGXING_OPS_TOKEN>`` (compared in constant time); with no ops token
configured they are disabled (403). Network position (loopback, proxy) is deliberately not
trusted: behind a same-host proxy every caller would look local.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.api.deps import SettingsDep
from core.errors import Problem
from core.settings import Mode

# Declares the scheme in the OpenAPI document; require_ops does the work.
OPS_TOKEN = HTTPBearer(
    scheme_name="opsToken", description="TONGXING_OPS_TOKEN as a Bearer token", auto_error=False
)


def require_ops(
    request: Request,
    settings: SettingsDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(OPS_TOKEN)],
) -> None:
    """Allow the request only for an operator, as described above."""
    if settings.mode is Mode.DEMO:
        return
    if settings.ops_token is None:
        raise Problem(
            status=403,
            kind="ops-disabled",
            title="Operator endpoints are disabled",
            detail="Set TONGXING_OPS_TOKEN to enable them.",
        )
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = settings.ops_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise Problem(
            status=401,
            kind="ops-unauthorized",
            title="Operator token required",
            headers={"WWW-Authenticate": 'Bearer realm="tongxing-ops"'},
        )
