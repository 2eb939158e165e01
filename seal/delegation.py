"""Sealing with an exchanged token (RFC 8693): a department app seals on behalf of a person
signed in to it, acting for an organisation (``act`` names the app, ``org`` the
organisation; see ``idp.protocol.rfc8693``).

Security contract, in addition to the checks every sealing makes (scope, the acting app's
grant for the seal, the seal's and certificate's state — ``seal.sealing``):

- :func:`check_caller`: ``act.sub`` is the token's client; the person's grant (``gid``) has
  no revocation announced (``keys.revocations``: a signed-out session, a revoked agent
  authorisation); the sign-in reached :data:`PERSON_LEVEL` (a second factor), else 401 with
  RFC 9470's ``insufficient_user_authentication`` challenge naming ``acr_values``.
- :func:`check_seal`: the seal belongs to the organisation the person acts for (``org``
  code = the seal's unified social credit code); a person acting for themselves seals
  nothing. An unknown seal is left to the grant check (no-grant), as for any client.

Machine tokens (client credentials, no ``act``) pass both unchanged. The sealing's audit
event names whom a delegated token sealed for (:func:`on_behalf_of`).
"""

from __future__ import annotations

from core.errors import Problem
from keys.access_tokens import AccessToken
from keys.api.bearer import challenge
from keys.revocations import announced
from seal import repository
from seal.errors import NotTheOrganisationsSeal
from seal.runtime import SealingService

# The level a person's sign-in needs to seal through an app (urn:tongxing:loa:3: a proofed
# name and a second factor, as for acting in an administrator role).
PERSON_LEVEL = 3
ACR_PREFIX = "urn:tongxing:loa:"
SCOPE = "seal:sign"


def is_delegated(token: AccessToken) -> bool:
    """Whether the token was exchanged for a person (it names an actor)."""
    return "act" in token.claims


def _level(acr: object) -> int:
    text = str(acr or "")
    number = text.removeprefix(ACR_PREFIX) if text.startswith(ACR_PREFIX) else ""
    return int(number) if number.isdigit() else 0


def _invalid(detail: str) -> Problem:
    return Problem(
        status=401,
        kind="invalid-token",
        title="Invalid access token",
        detail=detail,
        headers={
            "WWW-Authenticate": challenge(error="invalid_token", description=detail, scope=SCOPE)
        },
    )


def check_caller(service: SealingService, token: AccessToken) -> None:
    """Refuse (a :class:`Problem`) a delegated token that is revoked, names another actor or
    comes from too weak a sign-in."""
    if not is_delegated(token):
        return
    act = token.claims.get("act")
    if not isinstance(act, dict) or act.get("sub") != token.client_id:
        raise _invalid("the token's actor is not its client")
    grant_id = token.claims.get("gid")
    if not isinstance(grant_id, str) or announced(service.store, grant_id):
        raise _invalid("the person's sign-in behind this token has ended")
    if _level(token.claims.get("acr")) < PERSON_LEVEL:
        wanted = f"{ACR_PREFIX}{PERSON_LEVEL}"
        detail = f"sealing for a person needs a sign-in at {wanted}"
        raise Problem(
            status=401,
            kind="insufficient-user-authentication",
            title="The sign-in is not strong enough",
            detail=detail,
            acr_values=wanted,
            headers={
                "WWW-Authenticate": challenge(
                    error="insufficient_user_authentication",
                    description=detail,
                    scope=SCOPE,
                    acr_values=wanted,
                )
            },
        )


def check_seal(service: SealingService, token: AccessToken, seal_id: str) -> None:
    """Refuse (:class:`NotTheOrganisationsSeal`) a delegated token's sealing with a seal of
    another organisation than the one the person acts for."""
    if not is_delegated(token):
        return
    org = token.claims.get("org")
    code = org.get("code") if isinstance(org, dict) else None
    with service.database.reading() as session:
        seal = repository.seal(session, seal_id)
        owner = seal.organisation_uscc if seal is not None else None
    if owner is not None and owner != code:
        raise NotTheOrganisationsSeal(
            f"seal {seal_id} is not of the organisation the person acts for"
        )


def on_behalf_of(token: AccessToken) -> dict[str, str] | None:
    """Whom a delegated token seals for, as the sealing's audit event records it: the
    person's subject (as the app knows them), the organisation's code, and for an agent the
    authorisation; None for a machine token."""
    if not is_delegated(token):
        return None
    org = token.claims.get("org")
    found = {"sub": token.subject}
    if isinstance(org, dict):
        found["org"] = str(org.get("code", ""))
        if org.get("authorisation_id"):
            found["authorisation_id"] = str(org["authorisation_id"])
    return found
