"""People (natural persons) as administrators see and change them.

Rules: the system administrator creates and edits people, sets passwords and disables
accounts; the security administrator locks and unlocks them; all three platform roles read
everyone (auditors need the context); an organisation administrator reads the members of
the organisation they administer in this act, nobody else. Identity numbers are only ever
shown masked. 三权分立: the system administrator cannot set the password of, nor disable,
another holder of an administrator role — that would let one role take over or silence
another (role holders change their own password; the security administrator locks).

A lock is the account's ``disabled`` state recorded as a security act (``user.locked``):
the person cannot sign in, their SSO sessions are no longer honoured and every OAuth grant
they gave ends (see ``idp.accounts.set_disabled``). One state, two ways in: a lock is
lifted by ``unlock`` or by re-enabling.

A person who asked for their account to be deleted is disabled until the purge
(``idp.account_deletion``). Within the grace period the system administrator may cancel the
deletion (:func:`cancel_deletion`, refused with ``no-deletion-pending`` when none is
pending); enabling such an account cancels it too (an enabled account with a deletion still
pending would be purged the moment it was next disabled). Unlocking it leaves it disabled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin import paging, policy, versions
from admin.actors import ROLE_NAMES, SECURITY, SYSTEM, Actor
from admin.errors import Forbidden, Invalid, NoDeletionPending, NotFound
from admin.service import Administration
from idp import account_deletion, accounts, credential_change
from idp import repository as idp_repository
from idp.accounts import AccountError
from idp.models import PLATFORM_ROLES, User
from idp.role_scopes import role_of


def view(session: Session, user: User) -> dict[str, Any]:
    """The API view of a person (the identity number masked; no password, ever)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "proofing_level": user.proofing_level,
        "proofing_method": user.proofing_method,
        "proofed_at": versions.instant(user.proofed_at),
        "national_id": user.national_id_masked,
        "disabled": user.disabled,
        "locked": user.locked,
        "deletion_requested_at": versions.instant(user.deletion_requested_at),
        "role": role_of(session, user.id),
        "organisations": [
            {"id": org.id, "name": org.name, "role": membership.role}
            for membership, org in idp_repository.memberships_of(session, user.id)
        ],
        "created_at": versions.instant(user.created_at),
        "updated_at": versions.instant(user.updated_at),
    }


def find(session: Session, ref: str, *, for_update: bool = False) -> User | None:
    """A person by id, or by login (username, email or phone)."""
    user = session.get(User, ref, with_for_update=for_update) if len(ref) == 32 else None
    if user is None:
        user = idp_repository.user_by_login(session, accounts.normalise_login(ref))
        if user is not None and for_update:
            session.refresh(user, with_for_update=True)
    return user


def _readable(session: Session, actor: Actor, ref: str) -> User:
    """The person, if the actor may read them: platform roles anyone, an organisation
    administrator the members of their organisation (anyone else is refused, existing or
    not, so the refusal tells nothing)."""
    user = find(session, ref)
    if policy.reads_everything(session, actor):
        if user is None:
            raise NotFound(f"there is no person {ref!r}")
        return user
    if (
        user is None
        or not actor.organisations
        or not idp_repository.is_member(session, user_id=user.id, organisations=actor.organisations)
    ):
        policy.require_role(actor, *PLATFORM_ROLES)
    assert user is not None
    return user


def _changeable(session: Session, ref: str) -> User:
    user = find(session, ref, for_update=True)
    if user is None:
        raise NotFound(f"there is no person {ref!r}")
    return user


def _not_another_role_holder(session: Session, actor: Actor, user: User, *, what: str) -> None:
    held = role_of(session, user.id)
    if held is not None and user.id != actor.id:
        raise Forbidden(
            f"{user.username} holds {ROLE_NAMES[held]}: {what} of another administrator is "
            "not the system administrator's (三权分立); they change their own password, the "
            "security administrator locks accounts",
            needed=[SECURITY] if what == "disabling" else [],
        )


def list_people(
    admin: Administration,
    actor: Actor,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
    organisation: str | None = None,
) -> dict[str, Any]:
    """People by username; ``organisation`` (id or credit code) narrows to its members."""
    with admin.reading(actor, "people.list") as session:
        scope: set[str] | None = None
        if organisation:
            found = idp_repository.organisation(session, organisation)
            scope = {found.id if found is not None else organisation}
        if not policy.reads_everything(session, actor):
            if not actor.organisations or (scope and not scope <= actor.organisations):
                policy.require_role(actor, *PLATFORM_ROLES)
            scope = scope or set(actor.organisations)
        rows = idp_repository.users_page(
            session, after=paging.decode(cursor), limit=limit + 1, organisations=scope
        )
        return paging.page(rows, limit=limit, key=lambda u: u.username).map(
            lambda u: view(session, u)
        )


def get(admin: Administration, actor: Actor, *, ref: str) -> dict[str, Any]:
    """One person (by id or login)."""
    with admin.reading(actor, "people.read") as session:
        return view(session, _readable(session, actor, ref))


def create(
    admin: Administration,
    actor: Actor,
    *,
    username: str,
    display_name: str = "",
    email: str | None = None,
    phone: str | None = None,
    password: str | None = None,
    national_id: str | None = None,
    proofing_level: int = 1,
) -> dict[str, Any]:
    """A new person (system administrator; on the server also before the first
    appointment)."""
    with admin.acting(actor, "people.create") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            user = accounts.create_user(
                session,
                data_keys=admin.data_keys,
                events=admin.events,
                username=username,
                display_name=display_name,
                email=email,
                phone=phone,
                password=password,
                national_id=national_id,
                proofing_level=proofing_level,
                actor=actor.label,
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(session, user)


def update(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    if_match: str | None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Change display name, email, phone (None removes a contact) or ``disabled``."""
    unknown = set(changes) - {"display_name", "email", "phone", "disabled"}
    if unknown:
        raise Invalid(f"these cannot be changed here: {', '.join(sorted(unknown))}")
    ended: credential_change.SignedOut | None = None
    with admin.acting(actor, "people.update") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        user = _changeable(session, ref)
        versions.check(if_match, view(session, user))
        if changes.get("display_name", "") is None:
            raise Invalid("a person always has a display name")
        try:
            accounts.update_profile(
                session,
                events=admin.events,
                user=user,
                actor=actor.label,
                display_name=changes.get("display_name"),
                email=changes.get("email"),
                phone=changes.get("phone"),
                clear=frozenset(k for k in ("email", "phone") if k in changes and not changes[k]),
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        disabled = changes.get("disabled")
        if disabled is not None and disabled != user.disabled:
            if disabled:
                _not_another_role_holder(session, actor, user, what="disabling")
                ended = _sign_out_everywhere(admin, session, user, "disabled", actor)
            elif user.locked:
                raise Forbidden(
                    f"{user.username} is locked by the security administrator; only an "
                    "unlock lifts it",
                    needed=[SECURITY],
                )
            else:
                # The person asked for deletion: enabling the account takes that back.
                account_deletion.cancel(
                    session, events=admin.events, user_id=user.id, actor=actor.label
                )
            accounts.set_disabled(
                session,
                events=admin.events,
                login=user.username,
                disabled=bool(disabled),
                actor=actor.label,
            )
        session.flush()
        answer = view(session, user)
    _after_sign_out(admin, ended)
    return answer


def _sign_out_everywhere(
    admin: Administration, session: Session, user: User, reason: str, actor: Actor
) -> credential_change.SignedOut:
    """Before an account is disabled or locked: its grants revoked (and announced to every
    process after the commit), its sessions ended, its apps told by back-channel logout."""
    return credential_change.credentials_changed(
        session, admin.identity, user_id=user.id, reason=reason, actor=actor.label
    )


def _after_sign_out(admin: Administration, ended: credential_change.SignedOut | None) -> None:
    if ended is not None:
        credential_change.complete(admin.identity, ended)
        credential_change.deliver_now(admin.identity, ended)


def set_password(admin: Administration, actor: Actor, *, ref: str, password: str) -> dict[str, Any]:
    """Replace a person's password (system administrator; never another role holder's) and
    sign them out everywhere, as a reset by the person does: an administrator sets a password
    for someone who lost theirs or whose account was taken over, and whoever holds a session
    opened with the old one must not keep it."""
    with admin.acting(actor, "people.set_password") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        user = _changeable(session, ref)
        _not_another_role_holder(session, actor, user, what="setting the password")
        try:
            accounts.set_password(
                session,
                events=admin.events,
                login=user.username,
                password=password,
                actor=actor.label,
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        ended = _sign_out_everywhere(admin, session, user, "password-reset", actor)
        answer = view(session, user)
    _after_sign_out(admin, ended)
    return answer


def lock(
    admin: Administration, actor: Actor, *, ref: str, locked: bool, reason: str | None = None
) -> dict[str, Any]:
    """Lock (or unlock) an account: the security administrator's act."""
    ended: credential_change.SignedOut | None = None
    with admin.acting(actor, "people.lock" if locked else "people.unlock") as session:
        policy.require_role(actor, SECURITY)
        user = _changeable(session, ref)
        if locked and user.id == actor.id:
            raise Invalid("you cannot lock yourself out")
        if locked:
            ended = _sign_out_everywhere(admin, session, user, "account-locked", actor)
        accounts.set_disabled(
            session,
            events=admin.events,
            login=user.username,
            disabled=locked,
            actor=actor.label,
            locking=True,
            reason=reason,
        )
        user.locked = locked
        session.flush()
        answer = view(session, user)
    _after_sign_out(admin, ended)
    return answer


def cancel_deletion(
    admin: Administration, actor: Actor, *, ref: str, if_match: str | None = None
) -> dict[str, Any]:
    """Cancel the deletion a person asked for, within its grace period (system
    administrator): the account is enabled again unless the security administrator locked
    it; the grants revoked when it was asked for stay revoked. :class:`NoDeletionPending`
    when nothing is pending."""
    with admin.acting(actor, "people.cancel_deletion") as session:
        policy.require_role(actor, SYSTEM)
        user = _changeable(session, ref)
        versions.check(if_match, view(session, user))
        if not account_deletion.cancel(
            session, events=admin.events, user_id=user.id, actor=actor.label
        ):
            raise NoDeletionPending(f"{user.username} has not asked for their account's deletion")
        session.flush()
        return view(session, user)
