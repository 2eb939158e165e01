"""TOTP codes on the step-up page (``/login/factor/totp``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from idp import totp
from idp.api.deps import IdpDep
from idp.api.step_up_method import prove
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
    """A code from the person's authenticator app as the missing factor."""
    return await prove(
        request,
        idp,
        interaction=interaction,
        csrf_token=csrf_token,
        method="totp",
        verify=lambda _, sso: code_matches(idp, user_id=sso.user_id, code=code),
    )
