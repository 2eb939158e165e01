"""Recovery codes on the step-up page (``/login/factor/recovery``): one single-use code in
place of a lost authenticator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from idp import recovery_codes
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.step_up_method import prove
from idp.runtime import IdentityProvider

router = APIRouter(tags=["identity"], include_in_schema=False)


def spend_code(idp: IdentityProvider, *, user_id: str, code: str, address: str) -> bool:
    """Spend ``code`` if it is one of the person's unused recovery codes, recording
    ``recovery_code.used`` (with how many are left) in the same transaction."""
    with idp.database.transaction() as session:
        if not recovery_codes.use(session, data_keys=idp.data_keys, user_id=user_id, code=code):
            return False
        # Recorded with the spending, in its transaction: no code without its record.
        idp.events.record(
            session,
            type="recovery_code.used",
            actor=user_id,
            subject=user_id,
            details={"address": address, "remaining": recovery_codes.remaining(session, user_id)},
        )
        return True


@router.post("/login/factor/recovery")
async def factor_recovery(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A recovery code as the missing factor; spent whether or not the rest succeeds."""
    address = web.address(request)
    return await prove(
        request,
        idp,
        interaction=interaction,
        csrf_token=csrf_token,
        method="recovery",
        verify=lambda _, sso: spend_code(idp, user_id=sso.user_id, code=code, address=address),
    )
