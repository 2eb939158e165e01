"""A sign-in whose request asks for more than its first factor: the verified first factor
waits in the interaction, and the SSO session opens when the missing factor is proved.

Security contract: the first factor (the password) is held only in the browser's own
interaction (bound to its browser id, :mod:`idp.interactions`), for at most
:data:`HOLD_SECONDS`, with a fingerprint of the password hash it proved: a password changed
or reset meanwhile, a disabled or locked account, or an expired hold sends the person back
to the app to sign in again. For an app's request, no SSO session exists until the sign-in
reaches the level it asks (a CAS service's minimum level still steps up a session), so an
abandoned second step leaves no weaker session behind for other apps. The held password is
a line of the person's sign-in history at once (``first-factor``: they see a right password
whose second step never came); the sign-in is recorded when it completes, with all its
methods (a history line and one ``login.succeeded`` event, :func:`idp.login.open_session`).
A hold completes once (an atomic take in the store: two second factors posted at once open
one session), only with a method it does not hold yet; a refused second factor is a
``login.factor_failed`` event under the factor's attempt limits, as in step-up
(:func:`idp.step_up.check_factor`). What the request needs is decided by
:meth:`idp.authorization.AuthorizationFlow.need_beyond`; once the session is open, the
request continues through the full decision again.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass

from idp import assurance, history, repository
from idp.authorization import AuthorizationFlow, ShowFactor
from idp.interactions import Interaction
from idp.login import Opened, open_session
from idp.models import Client, User
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession

# How long a proved first factor waits for the second (the sign-in form's own page is
# older than this only when the person walked away).
HOLD_SECONDS = 10 * 60


@dataclass(frozen=True)
class Held:
    """A first factor proved in this interaction (``Interaction.first_factor``)."""

    id: str  # stands in for a session id where the factor page's need is kept
    user_id: str
    methods: list[str]
    at: int
    credential: str  # fingerprint of the password hash it proved

    def as_session(self, *, proofing_level: int | None = None) -> SsoSession:
        """The session this sign-in would be now (stored nowhere): what the factor page
        and the factor checks see."""
        level = assurance.level(proofing_level=proofing_level or 1, methods=self.methods)
        return SsoSession(
            sid=self.id,
            user_id=self.user_id,
            auth_time=self.at,
            amr=assurance.amr(self.methods),
            acr=assurance.acr(level),
            expires_at=self.at + HOLD_SECONDS,
            methods=list(self.methods),
            created_at=self.at,
        )


def credential_of(user: User) -> str:
    """The fingerprint of the credential a held password proved (never the hash itself)."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:32]


def held(interaction: Interaction, *, now: float | None = None) -> Held | None:
    """The first factor waiting in ``interaction``, while it is young enough."""
    raw = interaction.first_factor
    if not raw:
        return None
    try:
        found = Held(
            id=str(raw["id"]),
            user_id=str(raw["user_id"]),
            methods=[str(m) for m in raw["methods"]],
            at=int(raw["at"]),
            credential=str(raw["credential"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    moment = time.time() if now is None else now
    return found if 0 <= moment - found.at <= HOLD_SECONDS else None


def _once_key(idp: IdentityProvider, held_id: str) -> str:
    return idp.store.key("idp", "first-factor", held_id)


def hold(
    idp: IdentityProvider,
    interaction: Interaction,
    *,
    user: User,
    methods: list[str],
    address: str,
    user_agent: str,
) -> ShowFactor | None:
    """Hold ``methods`` (just proved by ``user``) in ``interaction`` when its request needs
    more than the person gave: the factor page to show. None when the methods are
    enough, or when the need cannot be met (open the session: the decision says why)."""
    if interaction.return_to is not None:  # our own pages: a session is what they need
        return None
    need = AuthorizationFlow(idp).need_beyond(interaction, user=user, methods=methods)
    if need is None:
        return None
    now = int(time.time())
    first = Held(
        id=secrets.token_urlsafe(12),
        user_id=user.id,
        methods=list(methods),
        at=now,
        credential=credential_of(user),
    )
    with idp.database.transaction() as session:
        history.record(
            session,
            user_id=user.id,
            kind="first-factor",
            methods=methods,
            acr=assurance.acr(assurance.level(proofing_level=user.proofing_level, methods=methods)),
            address=address,
            user_agent=user_agent,
        )
    idp.store.set(_once_key(idp, first.id), b"1", ttl=HOLD_SECONDS)
    interaction.first_factor = asdict(first)
    interaction.factor_need = need.kept(first.as_session(proofing_level=user.proofing_level))
    idp.interactions.save(interaction)
    client: Client | None = idp.client(interaction.params.get("client_id", ""))
    return ShowFactor(interaction=interaction, client=client, need=need)


def person(idp: IdentityProvider, first: Held) -> User | None:
    """The person of a held first factor, while it still stands (account usable, the
    password unchanged since it was proved)."""
    with idp.database.reading() as session:
        user = repository.user(session, first.user_id)
    if user is None or user.disabled or credential_of(user) != first.credential:
        return None
    return user


def complete(
    idp: IdentityProvider,
    interaction: Interaction,
    first: Held,
    *,
    method: str,
    address: str,
    user_agent: str,
    handle: str | None,
    details: dict[str, object] | None = None,
) -> Opened | None:
    """Open the browser's session with the held methods and ``method`` (just verified by the
    caller); None when ``method`` is one the hold has, when the first factor no longer
    stands (:func:`person`), or when another request completed it first."""
    if method in first.methods:
        return None
    user = person(idp, first)
    if user is None or idp.store.take(_once_key(idp, first.id)) is None:
        return None
    interaction.first_factor = None
    interaction.factor_need = None
    idp.interactions.save(interaction)
    methods = [*first.methods, method]
    return open_session(
        idp,
        user=user,
        methods=methods,
        address=address,
        user_agent=user_agent,
        handle=handle,
        details=details,
    )
