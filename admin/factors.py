"""A person's sign-in factors as administrators handle them: enrolling an authenticator app
for someone who cannot sign in yet, and removing every factor after an in-person check.

Rules (三权分立: the security administrator manages authentication): both acts are the
security administrator's, never for themselves (a role holder changes their own factors on
the account page, after a fresh strong sign-in); a reset needs a reason; both are audited
(``factor.enrolled`` / ``factors.reset`` with the acting administrator). A reset follows a
suspected takeover, so it also signs the person out everywhere: every grant is revoked
(refresh tokens, offline access) and every SSO session ended, with back-channel logout to
the apps and an ``account.signed_out`` event counting them (``idp.credential_change``).
The ``otpauth://`` URI of an enrolment is returned once, to show once, and is never stored
in clear or logged.
"""

from __future__ import annotations

from typing import Any

from admin import people, policy
from admin.actors import SECURITY, Actor
from admin.errors import Forbidden, Invalid, NotFound
from admin.service import Administration
from idp import credential_change, factors, totp
from idp.models import PLATFORM_ROLES, User

OPERATOR_NAME = "TOTP (enrolled by an administrator)"


def _not_self(actor: Actor, user: User, what: str) -> None:
    if user.id == actor.id:
        raise Forbidden(
            f"{what} for yourself is not an administrative act: change your own sign-in "
            "methods on the account page",
            needed=[],
        )


def enrol_totp(
    admin: Administration, actor: Actor, *, ref: str, name: str | None = None
) -> dict[str, Any]:
    """Give the person a new TOTP authenticator; the answer holds its ``otpauth://`` URI
    (``uri``), to hand over once, and the person's view."""
    with admin.acting(actor, "people.enrol_totp") as session:
        policy.require_role(actor, SECURITY)
        user = people.find(session, ref, for_update=True)
        if user is None:
            raise NotFound(f"there is no person {ref!r}")
        _not_self(actor, user, "enrolling a factor")
        secret = totp.new_secret()
        authenticator = factors.enrol_totp(
            session,
            data_keys=admin.data_keys,
            events=admin.events,
            user_id=user.id,
            secret=secret,
            name=name or OPERATOR_NAME,
            actor=actor.label,
            confirmed_step=None,
        )
        uri = totp.otpauth_uri(secret, account=user.username, issuer=factors.ISSUER_LABEL)
        return {
            "person": people.view(session, user),
            "authenticator": {"id": authenticator.id, "kind": "totp", "name": authenticator.name},
            "uri": uri,
        }


def reset_factors(admin: Administration, actor: Actor, *, ref: str, reason: str) -> dict[str, Any]:
    """Remove every authenticator and recovery code of the person, after checking who they
    are in person (the reason says how), and sign them out everywhere; they sign in with
    their password and enrol again. ``signed_out`` counts the grants and sessions ended."""
    if not reason.strip():
        raise Invalid("say why (e.g. how the person was checked in person)")
    with admin.acting(actor, "people.reset_factors") as session:
        policy.require_role(actor, SECURITY)
        user = people.find(session, ref, for_update=True)
        if user is None:
            raise NotFound(f"there is no person {ref!r}")
        _not_self(actor, user, "resetting factors")
        done = factors.reset(
            session,
            events=admin.events,
            user_id=user.id,
            actor=actor.label,
            reason=reason.strip()[:500],
        )
        ended = credential_change.credentials_changed(
            session, admin.identity, user_id=user.id, reason="factors-reset", actor=actor.label
        )
        answer = {
            "person": people.view(session, user),
            "removed": {
                "authenticators": done.authenticators,
                "recovery_codes": done.recovery_codes,
            },
            "signed_out": ended.summary(),
        }
    credential_change.complete(admin.identity, ended)
    credential_change.deliver_now(admin.identity, ended)
    return answer


def list_factors(admin: Administration, actor: Actor, *, ref: str) -> list[dict[str, Any]]:
    """The person's authenticators (kind, name, dates; never a secret), for the platform
    roles."""
    with admin.reading(actor, "people.factors") as session:
        policy.require_role(actor, *PLATFORM_ROLES)
        user = people.find(session, ref)
        if user is None:
            raise NotFound(f"there is no person {ref!r}")
        return [
            {
                "id": a.id,
                "kind": a.kind,
                "name": a.name,
                "created_at": a.created_at.isoformat(),
                "last_used_at": a.last_used_at.isoformat() if a.last_used_at else None,
            }
            for a in factors.of_user(session, user.id)
        ]
