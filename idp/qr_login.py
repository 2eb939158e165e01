"""QR cross-device sign-in (扫码登录): the desktop shows a QR code, a person signed in on a
phone opens it, checks which app and which device ask, picks the number the desktop shows,
and the desktop is signed in with the phone session's methods.

Security contract:

- A request is a random 128-bit id (in the QR code, so anyone who sees the screen knows it)
  plus a secret poll token only the desktop page holds (stored as its SHA-256). Reading its
  state and consuming it need the desktop's browser id (``tx_browser``) *and* the token; the
  id alone lets a signed-in person open the approval page, nothing more.
- It lives in the shared store for :data:`LIFETIME` seconds; every transition is one
  ``compare_and_set`` from the state read, so two processes (or two phones) racing change it
  once: pending → scanned (by one phone session) → approved | denied | mismatched, and
  approved → used when the desktop consumes it, exactly once. A used request stays ``used``
  until it expires, so a replay fails saying so.
- The phone must pick the desktop's two-digit number among three; a wrong pick ends the
  request (``mismatched``): a person tricked into scanning a phisher's code sees numbers that
  do not match their own screen, and guessing costs the attacker the code.
- Only the phone session that scanned may approve or deny. What the desktop receives is that
  session's user and methods at approval; the caller checks the phone session is still alive
  and the person not disabled before opening the desktop's session.
- Not checked here: CSRF tokens and that the desktop's interaction exists (the routes do).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from core.store import Store
from core.stored import read_record
from idp import user_agents

LIFETIME = 120
# How many QR codes one sign-in page (interaction) may ask for: each costs an audit entry.
PER_INTERACTION = 20
State = Literal["pending", "scanned", "approved", "denied", "mismatched", "used"]
_DOMAIN = "idp"
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_MAX_CAS_ATTEMPTS = 10


@dataclass
class QrRequest:
    """One desktop's request to be signed in from a phone."""

    id: str
    token_digest: str
    browser: str  # the desktop's tx_browser id
    interaction: str  # the desktop's interaction id
    client_name: str
    address: str  # the desktop's address
    device: str  # the desktop's browser and OS, summarised
    number: str  # the two digits to match
    created_at: int
    state: State = "pending"
    choices: list[str] = field(default_factory=list)  # shown to the phone, desktop's among them
    phone_user: str | None = None
    phone_sid: str | None = None
    methods: list[str] = field(default_factory=list)  # the phone session's, at approval

    @property
    def reference(self) -> str:
        """A short name for the audit log (not the id itself)."""
        return reference(self.id)


@dataclass(frozen=True)
class Created:
    """A new request: what the desktop page needs (the token is shown only here)."""

    request: QrRequest
    token: str


class QrError(Exception):
    """Why a request cannot be used: ``expired`` (or unknown), ``used``, ``denied``,
    ``mismatched``, ``foreign`` (another browser or phone session), ``state`` (not in the
    state the step needs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reference(qr_id: str) -> str:
    """The audit log's name for a request."""
    return hashlib.sha256(qr_id.encode()).hexdigest()[:16]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class QrLogins:
    """QR sign-in requests in the shared store under ``tx:idp:qr:<id>``."""

    def __init__(self, *, store: Store, lifetime: int = LIFETIME) -> None:
        self.store = store
        self.lifetime = lifetime

    def _key(self, qr_id: str) -> str:
        return self.store.key(_DOMAIN, "qr", qr_id)

    def create(
        self,
        *,
        browser: str,
        interaction: str,
        client_name: str,
        address: str,
        user_agent: str,
    ) -> Created | None:
        """A new pending request for the desktop ``browser`` (None when the interaction has
        asked for too many)."""
        counter = self.store.key(_DOMAIN, "qr-per-interaction", interaction)
        if self.store.incr(counter, ttl=30 * 60) > PER_INTERACTION:
            return None
        token = secrets.token_urlsafe(32)
        number = secrets.choice(range(10, 100))
        decoys: set[int] = set()
        while len(decoys) < 2:
            candidate = secrets.choice(range(10, 100))
            if candidate != number:
                decoys.add(candidate)
        choices = [str(n) for n in [number, *decoys]]
        secrets.SystemRandom().shuffle(choices)
        request = QrRequest(
            id=secrets.token_urlsafe(16),
            token_digest=_digest(token),
            browser=browser,
            interaction=interaction,
            client_name=client_name[:100],
            address=address[:64],
            device=user_agents.summarise(user_agent).words(""),
            number=str(number),
            created_at=int(time.time()),
            choices=choices,
        )
        self.store.set(self._key(request.id), _encode(request), ttl=self.lifetime)
        return Created(request=request, token=token)

    def _read(self, qr_id: str) -> tuple[QrRequest, bytes] | None:
        if not _ID.match(qr_id or ""):
            return None
        raw = self.store.get(self._key(qr_id))
        if raw is None:
            return None
        return read_record(QrRequest, raw), raw

    def get(self, qr_id: str) -> QrRequest | None:
        """The request, if it exists and has not expired."""
        read = self._read(qr_id)
        return read[0] if read is not None else None

    def for_desktop(self, qr_id: str, *, browser: str | None, token: str) -> QrRequest:
        """The request as its desktop sees it (its browser and its poll token)."""
        found = self.get(qr_id)
        if found is None:
            raise QrError("expired")
        if not self._is_desktop(found, browser, token):
            raise QrError("foreign")
        return found

    @staticmethod
    def _is_desktop(found: QrRequest, browser: str | None, token: str) -> bool:
        return (
            bool(browser)
            and bool(token)
            and secrets.compare_digest(found.browser, browser or "")
            and secrets.compare_digest(found.token_digest, _digest(token))
        )

    def _transition(
        self, qr_id: str, step: Callable[[QrRequest], QrRequest | None]
    ) -> tuple[QrRequest, QrRequest]:
        """Apply ``step`` to the stored request with compare-and-set (retrying when another
        process changed it meanwhile); ``step`` returns the changed request, None for no
        change, or raises :class:`QrError`. Returns (before, after)."""
        for _ in range(_MAX_CAS_ATTEMPTS):
            read = self._read(qr_id)
            if read is None:
                raise QrError("expired")
            before, raw = read
            after = step(read_record(QrRequest, raw))
            if after is None:
                return before, before
            remaining = before.created_at + self.lifetime - time.time()
            if remaining <= 0:
                raise QrError("expired")
            if self.store.compare_and_set(
                self._key(qr_id), expected=raw, value=_encode(after), ttl=remaining
            ):
                return before, after
        raise QrError("state")

    def scan(self, qr_id: str, *, user_id: str, sid: str) -> tuple[QrRequest, bool]:
        """The phone session ``sid`` of ``user_id`` opened the request: pending → scanned
        (and whether this call scanned it). Opening it again from the same session is
        harmless; from another, refused."""

        def step(found: QrRequest) -> QrRequest | None:
            if found.state == "pending":
                found.state, found.phone_user, found.phone_sid = "scanned", user_id, sid
                return found
            _check_phone(found, sid)
            if found.state != "scanned":
                raise QrError(_final_reason(found.state))
            return None

        before, after = self._transition(qr_id, step)
        return after, before.state == "pending"

    def decide(self, qr_id: str, *, sid: str, methods: list[str], number: str | None) -> QrRequest:
        """The scanning phone session answers: ``number`` picked (approved when it is the
        desktop's, mismatched otherwise) or None to deny."""

        def step(found: QrRequest) -> QrRequest | None:
            _check_phone(found, sid)
            if found.state != "scanned":
                raise QrError(_final_reason(found.state))
            if number is None:
                found.state = "denied"
            elif secrets.compare_digest(number, found.number):
                found.state, found.methods = "approved", list(methods)
            else:
                found.state = "mismatched"
            return found

        return self._transition(qr_id, step)[1]

    def consume(
        self, qr_id: str, *, browser: str | None, token: str, interaction: str
    ) -> QrRequest:
        """The desktop takes an approved request for its ``interaction``: approved → used,
        exactly once."""

        def step(found: QrRequest) -> QrRequest | None:
            if not self._is_desktop(found, browser, token):
                raise QrError("foreign")
            if found.state != "approved":
                raise QrError(_final_reason(found.state))
            if found.interaction != interaction:
                raise QrError("foreign")
            found.state = "used"
            return found

        return self._transition(qr_id, step)[0]


def _check_phone(found: QrRequest, sid: str) -> None:
    if found.phone_sid is None or not secrets.compare_digest(found.phone_sid, sid):
        raise QrError("foreign")


def _final_reason(state: str) -> str:
    return state if state in ("used", "denied", "mismatched") else "state"


def _encode(request: QrRequest) -> bytes:
    return json.dumps(asdict(request), separators=(",", ":")).encode()
