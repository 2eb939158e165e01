"""Single sign-on sessions: server-side records in the shared store, one cookie per browser.

Security contract: the cookie holds a random 256-bit handle; the store key is the handle's
SHA-256, so a store dump does not yield usable cookies. The public session id (``sid`` in
ID and logout tokens) is a different random value, so an app that learns a ``sid`` cannot
take over the browser session. Records expire with the session lifetime. Updates use
compare-and-set so two app processes adding clients at once lose neither.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from core.store import Store
from core.stored import read_record

COOKIE = "tx_sso"
_DOMAIN = "idp"
_MAX_CAS_ATTEMPTS = 20


@dataclass
class SsoSession:
    """One browser's sign-in."""

    sid: str
    user_id: str
    auth_time: int
    amr: list[str]
    acr: str
    expires_at: int
    # The sign-in methods used so far (idp.assurance.METHODS names); amr and acr follow.
    methods: list[str] = field(default_factory=list)
    # The organisation the person acts for (its id), or None for themselves.
    organisation_id: str | None = None
    organisation_chosen: bool = False
    # The agent authorisation (idp.agents) the person acts for the organisation under, if
    # they act as its agent (经办人) rather than as a member.
    agent_authorisation_id: str | None = None
    clients: list[str] = field(default_factory=list)
    # CAS service tickets issued in this session, as [service id, ticket]: the SessionIndex
    # of each single-logout request (idp.cas).
    cas_tickets: list[list[str]] = field(default_factory=list)
    created_at: int = 0
    user_agent: str = ""
    address: str = ""
    # Set when the session came from an upstream provider (idp.federation): its id, the
    # upstream's session id and ``sub`` (its back-channel logout names them) and the ID
    # token it issued (the ``id_token_hint`` of our logout's call to its end-session endpoint).
    upstream: dict[str, str] | None = None


def _digest(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


class SessionStore:
    """Creates, reads, updates and ends SSO sessions in the shared store."""

    def __init__(self, *, store: Store, lifetime: int) -> None:
        self.store = store
        self.lifetime = lifetime

    def _key(self, digest: str) -> str:
        return self.store.key(_DOMAIN, "session", digest)

    def _sid_key(self, sid: str) -> str:
        return self.store.key(_DOMAIN, "session-alive", sid)

    def alive(self, sid: str | None) -> bool:
        """Whether the session with public id ``sid`` is still going (not ended, not
        expired): codes and session-bound refresh tokens die with it."""
        return bool(sid) and self.store.get(self._sid_key(sid or "-")) is not None

    def _index_key(self, user_id: str) -> str:
        return self.store.key(_DOMAIN, "user-sessions", user_id)

    def create(
        self,
        *,
        user_id: str,
        methods: list[str],
        amr: list[str],
        acr: str,
        user_agent: str,
        address: str,
        now: int | None = None,
        auth_time: int | None = None,
    ) -> tuple[str, SsoSession]:
        """A new session (authenticated at ``auth_time``, default ``now``); returns the cookie
        handle (shown once) and the record."""
        now = int(time.time()) if now is None else now
        handle = secrets.token_urlsafe(32)
        session = SsoSession(
            sid=secrets.token_urlsafe(16),
            user_id=user_id,
            auth_time=now if auth_time is None else auth_time,
            amr=amr,
            acr=acr,
            methods=list(methods),
            expires_at=now + self.lifetime,
            created_at=now,
            user_agent=user_agent[:200],
            address=address,
        )
        digest = _digest(handle)
        self.store.set(self._key(digest), _encode(session), ttl=self.lifetime)
        self.store.set(self._sid_key(session.sid), b"1", ttl=self.lifetime)
        self._update_index(user_id, lambda digests: [*digests, digest])
        return handle, session

    def get(self, handle: str | None) -> SsoSession | None:
        """The live session a cookie refers to, or None."""
        if not handle or len(handle) > 100:
            return None
        return self._load(_digest(handle))

    def _load(self, digest: str) -> SsoSession | None:
        raw = self.store.get(self._key(digest))
        if raw is None:
            return None
        session = _decode(raw)
        return session if session.expires_at > time.time() else None

    def update(self, handle: str, change: Callable[[SsoSession], None]) -> SsoSession | None:
        """Apply ``change`` atomically (retrying on concurrent updates); None if ended."""
        return self._update_digest(_digest(handle), change)

    def update_by_reference(
        self, user_id: str, reference: str, change: Callable[[SsoSession], None]
    ) -> SsoSession | None:
        """Apply ``change`` to one of the person's sessions (a reference from
        :meth:`of_user`) as :meth:`update` does; None if it ended or is not theirs."""
        if reference not in self._index(user_id):
            return None
        return self._update_digest(reference, change)

    def _update_digest(
        self, digest: str, change: Callable[[SsoSession], None]
    ) -> SsoSession | None:
        key = self._key(digest)
        for _ in range(_MAX_CAS_ATTEMPTS):
            raw = self.store.get(key)
            if raw is None:
                return None
            session = _decode(raw)
            change(session)
            remaining = session.expires_at - time.time()
            if remaining <= 0:
                return None
            if self.store.compare_and_set(key, expected=raw, value=_encode(session), ttl=remaining):
                return session
        raise RuntimeError("the session changed too often to update")

    def end(self, handle: str | None) -> SsoSession | None:
        """End the session a cookie refers to; returns what it was."""
        if not handle or len(handle) > 100:
            return None
        return self._end_digest(_digest(handle))

    def _end_digest(self, digest: str) -> SsoSession | None:
        raw = self.store.take(self._key(digest))
        if raw is None:
            return None
        session = _decode(raw)
        self.store.delete(self._sid_key(session.sid))
        self._update_index(session.user_id, lambda ds: [d for d in ds if d != digest])
        return session

    def of_user(self, user_id: str) -> list[tuple[str, SsoSession]]:
        """The person's live sessions as (reference, session); the reference is opaque."""
        found = []
        for digest in self._index(user_id):
            session = self._load(digest)
            if session is not None:
                found.append((digest, session))
        return found

    def end_by_reference(self, user_id: str, reference: str) -> SsoSession | None:
        """End one of the person's sessions (from the account page)."""
        if reference not in self._index(user_id):
            return None
        return self._end_digest(reference)

    def forget_client(self, user_id: str, client_id: str) -> list[str]:
        """Remove ``client_id`` from every live session of the person (the app is signed out
        of them, e.g. consent withdrawn); returns the ``sid`` of each session it was in."""
        sids = []
        for digest in self._index(user_id):
            key = self._key(digest)
            for _ in range(_MAX_CAS_ATTEMPTS):
                raw = self.store.get(key)
                session = read_record(SsoSession, raw) if raw is not None else None
                if session is None or client_id not in session.clients:
                    break
                session.clients = [c for c in session.clients if c != client_id]
                remaining = session.expires_at - time.time()
                if remaining <= 0:
                    break
                if self.store.compare_and_set(
                    key, expected=raw, value=_encode(session), ttl=remaining
                ):
                    sids.append(session.sid)
                    break
        return sids

    def _index(self, user_id: str) -> list[str]:
        raw = self.store.get(self._index_key(user_id))
        return list(json.loads(raw)) if raw else []

    def _update_index(self, user_id: str, change: Callable[[list[str]], list[str]]) -> None:
        key = self._index_key(user_id)
        for _ in range(_MAX_CAS_ATTEMPTS):
            raw = self.store.get(key)
            current = list(json.loads(raw)) if raw else []
            # Drop references to sessions that expired, so the index stays small.
            live = [d for d in change(current) if self.store.get(self._key(d)) is not None]
            if self.store.compare_and_set(
                key, expected=raw, value=json.dumps(live).encode(), ttl=self.lifetime
            ):
                return
        raise RuntimeError("the session index changed too often to update")


def _decode(raw: bytes) -> SsoSession:
    session = read_record(SsoSession, raw)
    if not session.methods and session.amr == ["pwd"]:
        # A session stored before methods were recorded was a password sign-in.
        session.methods = ["pwd"]
    return session


def _encode(session: SsoSession) -> bytes:
    return json.dumps(asdict(session), separators=(",", ":")).encode()
