"""TOTP codes on the step-up page (``/login/factor/totp``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from idp import step_up, totp
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.step_up import factor_failed, factor_form, factor_verified

router = APIRouter(tags=["identity"], include_in_schema=False)


@router.post("/login/factor/totp")
async def factor_totp(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A code from the person's authenticator app as the missing factor."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted

    def verify() -> bool:
        with idp.database.transaction() as session:
            used = totp.verify(session, data_keys=idp.data_keys, user_id=sso.user_id, code=code)
            return used is not None

    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp, user_id=sso.user_id, method="totp", address=web.address(request), verify=verify
        )
    )
    if not checked.ok:
        return await factor_failed(request, idp, found, checked)
    return await factor_verified(request, idp, found, handle, sso, method="totp")
