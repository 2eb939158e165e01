"""Recovery codes on the step-up page (``/login/factor/recovery``): one single-use code in
place of a lost authenticator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from idp import recovery_codes, step_up
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.step_up import factor_failed, factor_form, factor_verified

router = APIRouter(tags=["identity"], include_in_schema=False)


@router.post("/login/factor/recovery")
async def factor_recovery(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A recovery code as the missing factor; spent whether or not the rest succeeds."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted
    address = web.address(request)

    def verify() -> bool:
        with idp.database.transaction() as session:
            if not recovery_codes.use(
                session, data_keys=idp.data_keys, user_id=sso.user_id, code=code
            ):
                return False
            # Recorded with the spending, in its transaction: no code without its record.
            idp.events.record(
                session,
                type="recovery_code.used",
                actor=sso.user_id,
                subject=sso.user_id,
                details={
                    "address": address,
                    "remaining": recovery_codes.remaining(session, sso.user_id),
                },
            )
            return True

    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp, user_id=sso.user_id, method="recovery", address=address, verify=verify
        )
    )
    if not checked.ok:
        return await factor_failed(request, idp, found, checked)
    return await factor_verified(request, idp, found, handle, sso, method="recovery")
