"""The answer after a sign-in on our pages opened a session: on with what was waiting.

Security contract: the caller verified the person and opened the session
(:func:`idp.login.open_session`); this sets that session's cookie, records the sign-in time
on the waiting interaction (for ``max_age`` and ``auth_time``), and tells the apps of a
session the new one replaced in this browser (back-channel logout).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from idp.api import web
from idp.api.authorize import _resume
from idp.api.logout import propagate
from idp.interactions import Interaction
from idp.login import Opened
from idp.runtime import IdentityProvider


async def carry_on(
    request: Request, idp: IdentityProvider, found: Interaction | None, opened: Opened
) -> Response:
    """Continue ``found`` (an app's request or one of our pages; the account page when
    nothing was waiting) as the newly signed-in person."""
    if found is not None:
        found.login_at = opened.session.auth_time
        found.first_factor = None  # a password held here before is not this sign-in's
        idp.interactions.save(found)
        response = await _resume(request, idp, found, opened.handle)
    else:
        response = web.see_other("/account")
    web.set_sso_cookie(response, idp, opened.handle)
    if opened.ended is not None:
        await propagate(idp, opened.ended, reason="replaced", response=response)
    return response
