"""Who an upstream provider's verified sign-in is here: the person linked to its issuer and
``sub``, or the account its trusted identity number belongs to, or a new person.

Security contract: see :mod:`idp.federation` (linking by identity number only when the
upstream is trusted for it, and only after the password of an account that has one; a
new person proofed to the trusted level only with a valid, trusted identity number, and
given the upstream's phone as a login only when the upstream is trusted and says
``phone_number_verified``); every
link is an ``upstream.linked`` audit event in the transaction that makes it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from idp import accounts, repository
from idp.identifiers import InvalidIdentifier, normalise_national_id
from idp.models import UPSTREAM_PROOFING, UpstreamLink, UpstreamProvider, User
from idp.runtime import IdentityProvider


class Raced(RuntimeError):
    """Another process made this person first (the holder of the identity number, or the
    link): the caller asks :func:`find` again, which finds the winner's."""


def _claim(upstream: UpstreamProvider, claims: dict[str, Any], name: str) -> str | None:
    source = upstream.claim_map.get(name)
    value = claims.get(source) if source else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def find(
    idp: IdentityProvider, upstream: UpstreamProvider, claims: dict[str, Any], *, subject: str
) -> tuple[User | None, bool]:
    """The linked, matched or new person, and whether its password must confirm the link;
    (None, False) when the person is disabled. Raises :class:`Raced` or ``IntegrityError``
    when another process made the person or the link first (nothing is written then)."""
    number = None
    if upstream.trusted_proofing_level is not None:
        try:
            raw = _claim(upstream, claims, "national_id")
            number = normalise_national_id(raw) if raw else None
        except InvalidIdentifier:
            number = None
    with idp.database.transaction() as session:
        linked = session.get(UpstreamLink, (upstream.issuer, subject))
        if linked is not None:
            user = session.get(User, linked.user_id)
            linked.last_used_at = datetime.now(UTC)
            return (user if user is not None and not user.disabled else None), False
        if number is not None:
            digest = accounts.national_id_digest(session, data_keys=idp.data_keys, number=number)
            holder = accounts.holder_of_national_id(session, digest)
            if holder is not None:
                if holder.disabled:
                    return None, False
                if holder.password_hash is not None:
                    return holder, True
                link(idp, session, upstream, subject=subject, user=holder)
                return holder, False
        try:
            user = _new_person(idp, session, upstream, claims, number=number)
        except accounts.AccountError:
            if number is None:
                raise
            # The number's unique constraint: a first sign-in on another process won.
            raise Raced("the identity number's holder was created meanwhile") from None
        link(idp, session, upstream, subject=subject, user=user)
        return user, False


def _new_person(
    idp: IdentityProvider,
    session: Session,
    upstream: UpstreamProvider,
    claims: dict[str, Any],
    *,
    number: str | None,
) -> User:
    # The phone becomes a login: only from an upstream trusted for identity numbers that says
    # it verified the number (Core §5.1 ``phone_number_verified``).
    trusted = upstream.trusted_proofing_level is not None
    verified = claims.get("phone_number_verified") is True
    phone = _claim(upstream, claims, "phone") if trusted and verified else None
    if phone is not None and repository.user_by_login(session, phone) is not None:
        phone = None  # someone else's login here: the person can add a phone later
    values: dict[str, Any] = {
        "data_keys": idp.data_keys,
        "events": idp.events,
        "username": f"fed-{secrets.token_hex(6)}",
        "display_name": (_claim(upstream, claims, "name") or "")[:128],
        "actor": f"upstream:{upstream.id}",
        "national_id": number,
        "proofing_level": upstream.trusted_proofing_level if number is not None else 1,
        # The upstream vouched for the number: no face or counter check happened here.
        "proofing_method": UPSTREAM_PROOFING if number is not None else None,
    }
    try:
        return accounts.create_user(session, phone=phone, **values)
    except accounts.AccountError:
        if phone is None:
            raise
        return accounts.create_user(session, **values)  # a phone number we cannot use


def link(
    idp: IdentityProvider, session: Session, upstream: UpstreamProvider, *, subject: str, user: User
) -> None:
    now = datetime.now(UTC)
    session.add(
        UpstreamLink(
            issuer=upstream.issuer,
            subject=subject,
            upstream_id=upstream.id,
            user_id=user.id,
            created_at=now,
            last_used_at=now,
        )
    )
    session.flush()
    idp.events.record(
        session,
        type="upstream.linked",
        actor=user.id,
        subject=user.id,
        details={"upstream": upstream.id, "issuer": upstream.issuer},
    )
