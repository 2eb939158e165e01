"""What a step-up method's route (``/login/factor/<method>``) does with its posted form (all
but TOTP's step-up of a session, which spends its code and records the step-up in one
transaction: :func:`idp.step_up.check_and_add`).

Security contract: the form must belong to a live interaction and SSO session (or a sign-in
held in the interaction for its second factor, :mod:`idp.first_factor`) and carry the
factor page's CSRF token (:func:`idp.api.step_up.factor_form`); the method's own check runs
under its attempt limits, a failure audited (:func:`idp.step_up.check_factor`); only a
passed check adds the method to the session or opens the held sign-in's session
(:func:`idp.api.step_up.factor_verified`). What the method's check proves is the caller's
``verify``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from idp import step_up
from idp.api import web
from idp.api.step_up import factor_failed, factor_form, factor_verified
from idp.interactions import Interaction
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession


async def prove(
    request: Request,
    idp: IdentityProvider,
    *,
    interaction: str,
    csrf_token: str,
    method: str,
    verify: Callable[[Interaction, SsoSession], bool],
) -> Response:
    """Check ``method`` with ``verify(interaction, session)`` (run in a worker thread): on
    with the request when it passes, the factor page saying why when it does not."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    return await proved(request, idp, posted, method=method, verify=verify)


async def proved(
    request: Request,
    idp: IdentityProvider,
    posted: tuple[Interaction, str | None, SsoSession],
    *,
    method: str,
    verify: Callable[[Interaction, SsoSession], bool],
) -> Response:
    """:func:`prove` for a form :func:`idp.api.step_up.factor_form` has accepted."""
    found, handle, sso = posted
    address = web.address(request)
    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp,
            user_id=sso.user_id,
            method=method,
            address=address,
            verify=lambda: verify(found, sso),
        )
    )
    if not checked.ok:
        return await factor_failed(request, idp, found, checked)
    return await factor_verified(request, idp, found, handle, sso, method=method)
