"""Administrator scopes: which of them the IdP may put in a person's token.

Security contract: ``admin:system``, ``admin:security`` and ``admin:audit`` reach a token
only for a person who holds that platform role now; ``org:admin`` only for the organisation
chosen at sign-in and only while the person administers it. Anything else requested is
dropped silently (RFC 6749 §3.3 lets the server grant less than asked). It is applied every
time tokens are issued (code redemption and refresh), so a withdrawn role leaves the next
token. The admin API still checks the role on every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from idp import repository
from idp.models import PlatformRole

# The platform role (三权分立) each administrator scope stands for.
PLATFORM_SCOPES: dict[str, str] = {
    "system-admin": "admin:system",
    "security-admin": "admin:security",
    "audit-admin": "admin:audit",
}
ORG_ADMIN_SCOPE = "org:admin"
ADMIN_SCOPES = frozenset([*PLATFORM_SCOPES.values(), ORG_ADMIN_SCOPE])
# The admin API's resource path under the issuer (the audience of administrator tokens).
ADMIN_RESOURCE = "/admin"


def role_of(session: Session, user_id: str) -> str | None:
    """The platform role the person holds, if any."""
    row = session.get(PlatformRole, user_id)
    return row.role if row is not None else None


def held(
    session: Session, *, user_id: str, organisation_id: str | None, scopes: Iterable[str]
) -> list[str]:
    """``scopes`` without the administrator scopes this person does not hold now."""
    scopes = list(scopes)
    if ADMIN_SCOPES.isdisjoint(scopes):
        return scopes  # nothing to check: no read (every ordinary token issue)
    role = role_of(session, user_id)
    granted: list[str] = []
    for scope in scopes:
        if scope == ORG_ADMIN_SCOPE:
            membership = (
                repository.membership(session, organisation_id=organisation_id, user_id=user_id)
                if organisation_id
                else None
            )
            if membership is None or membership.role != "admin":
                continue
        elif scope in ADMIN_SCOPES and PLATFORM_SCOPES.get(role or "") != scope:
            continue
        granted.append(scope)
    return granted


def one_platform_scope(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` name at most one platform role (the one-of-three rule)."""
    return len(set(scopes) & set(PLATFORM_SCOPES.values())) <= 1
