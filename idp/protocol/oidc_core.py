"""What a person's claims look like to a client (OIDC Core §5): by scope, with the
organisation they act for, the assurance level, and the subject the client may see.

Security contract: only the claims of granted scopes are released (§5.4); ``sub`` is the
pairwise subject for clients that opted in (§8.1), the same in ID token, userinfo,
introspection and logout tokens; identity numbers are never released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.models import Client, Organisation, User
from idp.protocol.pairwise import subject_for

SCOPES = ("openid", "profile", "email", "phone", "offline_access")


@dataclass(frozen=True)
class ActingFor:
    """The organisation a person acts for, with their role."""

    organisation: Organisation
    role: str  # admin | member | agent
    # For an agent (经办人): the authorisation the person acts under.
    authorisation_id: str | None = None

    def claim(self) -> dict[str, str]:
        """The ``org`` claim: unified social credit code, name, role, and for an agent the
        authorisation's id."""
        claim = {"code": self.organisation.uscc, "name": self.organisation.name, "role": self.role}
        if self.authorisation_id is not None:
            claim["authorisation_id"] = self.authorisation_id
        return claim


def subject(*, client: Client, user_id: str, pairwise_key: bytes) -> str:
    """The ``sub`` this client sees for the person."""
    return subject_for(key=pairwise_key, sector=client.pairwise_sector, local_subject=user_id)


def userinfo_claims(
    *, user: User, scopes: list[str] | tuple[str, ...], sub: str, acting_for: ActingFor | None
) -> dict[str, Any]:
    """The userinfo response (§5.3.2) for the granted ``scopes``."""
    claims: dict[str, Any] = {"sub": sub}
    if "profile" in scopes:
        claims["name"] = user.display_name
        claims["preferred_username"] = user.username
        claims["updated_at"] = int(user.updated_at.timestamp())
        claims["proofing_level"] = user.proofing_level
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = False
    if "phone" in scopes and user.phone:
        claims["phone_number"] = user.phone
        claims["phone_number_verified"] = False
    if acting_for is not None:
        claims["org"] = acting_for.claim()
    return claims
