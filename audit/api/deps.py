"""``Annotated`` dependency aliases handing request handlers the audit log and its readers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from audit.log import AuditLog
from core.api.deps import runtime_of
from keys.access_tokens import AccessToken
from keys.api.bearer import require_scope

READ_SCOPE = "audit:read"


async def get_log(request: Request) -> AuditLog:
    """The audit log of the app serving this request."""
    return runtime_of(request.app).get(AuditLog)


LogDep = Annotated[AuditLog, Depends(get_log)]
# A Bearer token for <issuer>/audit with scope audit:read (RFC 6750; see keys.api.bearer).
AuditReader = Annotated[AccessToken, Depends(require_scope(scope=READ_SCOPE, resource="/audit"))]
