"""Parts of the sign-in and account pages contributed by features (passkeys, SMS codes, QR
sign-in, factors, privacy…), so each feature adds its part without editing the page.

A part is a template (``login_<name>.html`` or ``account_<name>.html``) and a function
giving its context; parts show in ``order``. A part's function runs in a worker thread
(it may read the database) and returns None to hide the part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from idp.interactions import Interaction
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

LoginContext = Callable[[Request, IdentityProvider, Interaction], dict[str, Any] | None]
AccountContext = Callable[
    [Request, IdentityProvider, Session, User, SsoSession], dict[str, Any] | None
]


@dataclass(frozen=True)
class Part:
    """One contributed part of a page."""

    order: int
    template: str
    context: Callable[..., dict[str, Any] | None]


LOGIN_PARTS: list[Part] = []
ACCOUNT_PARTS: list[Part] = []


def login_part(order: int, template: str) -> Callable[[LoginContext], LoginContext]:
    """Register a part of the sign-in page (below the password form)."""

    def register(context: LoginContext) -> LoginContext:
        LOGIN_PARTS.append(Part(order, template, context))
        LOGIN_PARTS.sort(key=lambda p: p.order)
        return context

    return register


def account_part(order: int, template: str) -> Callable[[AccountContext], AccountContext]:
    """Register a part of the account page (the person's own sessions come first)."""

    def register(context: AccountContext) -> AccountContext:
        ACCOUNT_PARTS.append(Part(order, template, context))
        ACCOUNT_PARTS.sort(key=lambda p: p.order)
        return context

    return register


def login_parts(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> list[tuple[str, dict[str, Any]]]:
    """The sign-in page's parts to show, with their contexts."""
    shown = []
    for part in LOGIN_PARTS:
        context = part.context(request, idp, interaction)
        if context is not None:
            shown.append((part.template, context))
    return shown


def account_parts(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> list[tuple[str, dict[str, Any]]]:
    """The account page's parts to show, with their contexts."""
    shown = []
    for part in ACCOUNT_PARTS:
        context = part.context(request, idp, session, user, sso)
        if context is not None:
            shown.append((part.template, context))
    return shown
