"""TOTP codes on the step-up page (``/login/factor/totp``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from idp import step_up, totp
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.step_up import factor_added, factor_failed, factor_form
from idp.api.step_up_method import proved
from idp.runtime import IdentityProvider

router = APIRouter(tags=["identity"], include_in_schema=False)


def code_matches(idp: IdentityProvider, *, user_id: str, code: str) -> bool:
    """Whether ``code`` is a current code of one of the person's authenticator apps (its
    step is spent then: a code is accepted once, see :func:`idp.totp.verify`)."""
    with idp.database.transaction() as session:
        used = totp.verify(session, data_keys=idp.data_keys, user_id=user_id, code=code)
        return used is not None


@router.post("/login/factor/totp")
async def factor_totp(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A code from the person's authenticator app as the missing factor: spending the code
    and recording a session's step-up are one transaction (the most used step-up, measured
    in bench/step_up.py), where the other methods check, then record; a sign-in held for
    its second factor opens its session once the code is spent."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted
    if handle is None:  # the second factor of a sign-in: its session opens now
        return await proved(
            request,
            idp,
            posted,
            method="totp",
            verify=lambda _, held: code_matches(idp, user_id=held.user_id, code=code),
        )
    checked = await run_in_threadpool(
        lambda: step_up.check_and_add(
            idp,
            handle=handle,
            user_id=sso.user_id,
            method="totp",
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            spend=lambda session: (
                totp.verify(session, data_keys=idp.data_keys, user_id=sso.user_id, code=code)
                is not None
            ),
        )
    )
    if not checked.ok:
        return await factor_failed(request, idp, found, checked)
    return await factor_added(request, idp, found, handle, checked)
