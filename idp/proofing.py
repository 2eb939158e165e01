"""Identity proofing (实名核验): raising a person's proofing level by checks they do themselves —
level 2 a name and identity number confirmed by an authority (:class:`RealNameVerifier`),
level 3 a face check showing a real person is there (:class:`FaceVerifier`). Level 4 (in
person at a counter) is an administrator's act (``admin.proofing``).

Security contract: every attempt, whatever its verdict, is a ``proofing.checked`` audit
event in the transaction that changes the level (identity numbers only masked, names never);
attempts are limited per person and per source address per day (each one may cost an
authority query); an identity number that belongs to another account is refused before any
query; an account that already has an identity number can only be confirmed with that
number; a face check needs level 2 first (the face is compared with the confirmed identity).

Two implementations of each interface: development ones (clearly named, refused outside demo
mode by the settings) and HTTP adapters for real services, configured by settings.

HTTP contract (both adapters): ``POST <url>`` with a JSON body and, when a token is
configured, ``Authorization: Bearer <token>``; the service answers 200 with
``{"verdict": "<value>"}``. Real name: body ``{"name": ..., "national_id": ...}``, verdict
``confirmed`` or ``mismatch``. Face: body ``{"national_id": ..., "liveness_token": ...}``
(the token the face-check SDK produced in the browser), verdict ``confirmed`` or ``failed``.
Anything else (another status, bad JSON, an unknown verdict, a timeout) is ``unavailable``:
the person may try later and the attempt still counts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import httpx
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store import Store
from idp import accounts
from idp.accounts import AccountError
from idp.identifiers import InvalidIdentifier, mask_national_id, normalise_national_id
from idp.models import PROOFING_METHODS, User

if TYPE_CHECKING:
    from idp.runtime import IdentityProvider

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10.0
LIVENESS_SECONDS = 300  # a development liveness token is good for five minutes
DAY = 24 * 3600
# The data key of development liveness tokens (see DevelopmentFaceVerifier).
LIVENESS_KEY = "dev-liveness"


class Verdict(StrEnum):
    """What the real-name authority said."""

    CONFIRMED = "confirmed"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"


class FaceVerdict(StrEnum):
    """What the face check said."""

    CONFIRMED = "confirmed"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


class RealNameVerifier(Protocol):
    """Confirms that a name and an identity number belong together (an authority)."""

    def verify(self, name: str, national_id: str) -> Verdict:
        """The authority's verdict on the pair."""
        ...


class FaceVerifier(Protocol):
    """Confirms that the person in front of the camera is alive and the holder of the
    identity number (a face-check service, driven by an SDK in the browser)."""

    def verify(self, *, user_id: str, national_id: str, liveness_token: str) -> FaceVerdict:
        """The service's verdict on the liveness token for this person."""
        ...


class DevelopmentRealNameRegistry:
    """DEVELOPMENT ONLY: a registry of (name, identity number) pairs seeded by the demo or a
    test, standing in for the authority. Refused outside demo mode by the settings."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs: dict[str, str] = {}
        for name, number in pairs:
            self.seed(name, number)

    def seed(self, name: str, national_id: str) -> None:
        """Register a pair the registry will confirm."""
        self._pairs[normalise_national_id(national_id)] = name.strip()

    def verify(self, name: str, national_id: str) -> Verdict:
        """Confirmed when the pair was seeded, else a mismatch."""
        known = self._pairs.get(national_id.strip().upper())
        return (
            Verdict.CONFIRMED if known is not None and known == name.strip() else Verdict.MISMATCH
        )


class DevelopmentFaceVerifier:
    """DEVELOPMENT ONLY: accepts a liveness token it issued itself — an HMAC over the user
    id, a nonce and the time, good once for :data:`LIVENESS_SECONDS` — standing in for a
    face-check SDK (which would produce the token in the browser after a liveness check).
    Refused outside demo mode by the settings."""

    def __init__(self, *, store: Store, key: Callable[[], bytes]) -> None:
        self._store = store
        self._key = key

    def _mac(self, user_id: str, nonce: str, issued: int) -> str:
        message = f"{user_id}.{nonce}.{issued}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def issue(self, user_id: str, *, now: float | None = None) -> str:
        """A liveness token for the person (what the SDK's check would produce)."""
        issued = int(time.time() if now is None else now)
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{issued}.{self._mac(user_id, nonce, issued)}"

    def verify(self, *, user_id: str, national_id: str, liveness_token: str) -> FaceVerdict:
        """Confirmed for a token issued to this person, unexpired and not used before."""
        nonce, _, rest = liveness_token.partition(".")
        issued_text, _, mac = rest.partition(".")
        if not nonce or not issued_text.isdigit() or len(mac) != 64:
            return FaceVerdict.FAILED
        issued = int(issued_text)
        if not hmac.compare_digest(mac, self._mac(user_id, nonce, issued)):
            return FaceVerdict.FAILED
        if not 0 <= time.time() - issued <= LIVENESS_SECONDS:
            return FaceVerdict.FAILED
        used = self._store.key("idp", "liveness-used", hashlib.sha256(nonce.encode()).hexdigest())
        if not self._store.set(used, b"1", ttl=LIVENESS_SECONDS + 60, only_if_absent=True):
            return FaceVerdict.FAILED
        return FaceVerdict.CONFIRMED


def _post(url: str, token: str | None, body: dict[str, str]) -> str | None:
    """The ``verdict`` a service answered, or None when it did not answer properly."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
    except httpx.HTTPError as exc:
        log.warning("identity check service unreachable", extra={"error": type(exc).__name__})
        return None
    if response.status_code != 200:
        log.warning("identity check service failed", extra={"status": response.status_code})
        return None
    try:
        verdict = response.json().get("verdict")
    except (ValueError, AttributeError):
        return None
    return verdict if isinstance(verdict, str) else None


class HttpRealNameVerifier:
    """The authority's real-name service over HTTP (see the module's HTTP contract)."""

    def __init__(self, *, url: str, token: str | None = None) -> None:
        self.url, self._token = url, token

    def verify(self, name: str, national_id: str) -> Verdict:
        """The service's verdict (unavailable when it did not answer properly)."""
        verdict = _post(self.url, self._token, {"name": name, "national_id": national_id})
        if verdict in (Verdict.CONFIRMED, Verdict.MISMATCH):
            return Verdict(verdict)
        return Verdict.UNAVAILABLE


class HttpFaceVerifier:
    """A face-check service over HTTP (see the module's HTTP contract)."""

    def __init__(self, *, url: str, token: str | None = None) -> None:
        self.url, self._token = url, token

    def verify(self, *, user_id: str, national_id: str, liveness_token: str) -> FaceVerdict:
        """The service's verdict (unavailable when it did not answer properly)."""
        verdict = _post(
            self.url,
            self._token,
            {"national_id": national_id, "liveness_token": liveness_token},
        )
        if verdict in (FaceVerdict.CONFIRMED, FaceVerdict.FAILED):
            return FaceVerdict(verdict)
        return FaceVerdict.UNAVAILABLE


# The demo's registry (DEVELOPMENT ONLY): the pairs a demo visitor can confirm.
DEMO_REGISTRY = (
    ("张三", "350102199003071234"),
    ("李四", "350102198511224562"),
    ("王五", "350102197806157892"),
    ("周九", "350102200001012463"),
)


def build_real_name(settings: Settings) -> RealNameVerifier | None:
    """The configured real-name verifier (None: checks are off)."""
    chosen = settings.verifier("realname")
    if chosen == "development":
        return DevelopmentRealNameRegistry(DEMO_REGISTRY)
    if chosen == "http":
        token = settings.realname_token.get_secret_value() if settings.realname_token else None
        return HttpRealNameVerifier(url=settings.realname_url, token=token)
    return None


def build_face(
    settings: Settings, *, store: Store, key: Callable[[], bytes]
) -> FaceVerifier | None:
    """The configured face verifier (None: checks are off)."""
    chosen = settings.verifier("face")
    if chosen == "development":
        return DevelopmentFaceVerifier(store=store, key=key)
    if chosen == "http":
        token = settings.face_token.get_secret_value() if settings.face_token else None
        return HttpFaceVerifier(url=settings.face_url, token=token)
    return None


class ProofingLimits:
    """Identity checks per person and per source address per day (every attempt counts:
    each may cost a query to the authority)."""

    def __init__(self, *, store: Store, per_person: int, per_address: int) -> None:
        self.store, self.per_person, self.per_address = store, per_person, per_address

    def begin(self, *, user_id: str, address: str) -> int:
        """Reserve an attempt; 0 when allowed, else the seconds until the next one is."""
        keys = (
            (self.store.key("idp", "proofing-person", user_id), self.per_person),
            (
                self.store.key(
                    "idp", "proofing-addr", hashlib.sha256(address.encode()).hexdigest()[:32]
                ),
                self.per_address,
            ),
        )
        for key, limit in keys:
            if int(self.store.get(key) or 0) >= limit:
                return int(self.store.ttl(key) or DAY) + 1
        for key, _ in keys:
            self.store.incr(key, ttl=DAY)
        return 0


@dataclass(frozen=True)
class Outcome:
    """How an identity check ended: ``status`` is a verdict, or why it was not tried
    (invalid, taken, different, level, limited, off)."""

    status: str
    retry_after: int = 0
    level: int | None = None  # the person's proofing level afterwards


def _record(
    idp: IdentityProvider,
    session: Session,
    *,
    user: User,
    check: str,
    verdict: str,
    address: str,
    masked: str | None,
    level_before: int,
) -> None:
    idp.events.record(
        session,
        type="proofing.checked",
        actor=user.id,
        subject=user.id,
        details={
            "check": check,
            "verdict": verdict,
            "national_id": masked,
            "address": address,
            "level_before": level_before,
            "level": user.proofing_level,
        },
    )


def _raise_level(user: User, level: int) -> None:
    now = datetime.now(UTC)
    user.proofing_level = level
    user.proofing_method = PROOFING_METHODS[level]
    user.proofed_at = now
    user.updated_at = now


def check_real_name(
    idp: IdentityProvider, *, user_id: str, name: str, national_id: str, address: str
) -> Outcome:
    """Level 1 → 2: the authority confirms the name and identity number; the number is then
    sealed as the account's (``idp.accounts``)."""
    verifier = idp.real_name
    if verifier is None:
        return Outcome("off")
    try:
        number = normalise_national_id(national_id)
    except InvalidIdentifier:
        return Outcome("invalid")
    if not name.strip() or len(name) > 64:
        return Outcome("invalid")
    masked = mask_national_id(number)
    with idp.database.transaction() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return Outcome("off")
        refusal = _refusal(session, idp, user, number)
        stopped = _not_tried(
            idp,
            session,
            user=user,
            check="real-name",
            refusal=refusal,
            address=address,
            masked=masked,
        )
        if stopped is not None:
            return stopped
    verdict = verifier.verify(name.strip(), number)  # outside any transaction: a network call
    with idp.database.transaction() as session:
        user = session.get(User, user_id, with_for_update=True)
        assert user is not None
        before = user.proofing_level
        status = str(verdict)
        if verdict is Verdict.CONFIRMED:
            try:
                accounts.set_national_id(session, user, data_keys=idp.data_keys, national_id=number)
            except AccountError:  # another account took the number meanwhile
                status = "taken"
            else:
                if user.proofing_level < 2:
                    _raise_level(user, 2)
        _record(
            idp,
            session,
            user=user,
            check="real-name",
            verdict=status,
            address=address,
            masked=masked,
            level_before=before,
        )
        return Outcome(status, level=user.proofing_level)


def _not_tried(
    idp: IdentityProvider,
    session: Session,
    *,
    user: User,
    check: str,
    refusal: str | None,
    address: str,
    masked: str | None,
) -> Outcome | None:
    """The outcome of a check that is not tried — ``refusal``, or the daily limit reached —
    recorded like a verdict; None when it goes ahead (the attempt then counts)."""
    before = user.proofing_level
    retry = 0
    if refusal is None:
        retry = idp.proofing_limits.begin(user_id=user.id, address=address)
        if not retry:
            return None
    verdict = refusal or "limited"
    _record(
        idp,
        session,
        user=user,
        check=check,
        verdict=verdict,
        address=address,
        masked=masked,
        level_before=before,
    )
    return Outcome(verdict, retry_after=retry, level=before)


def _refusal(session: Session, idp: IdentityProvider, user: User, number: str) -> str | None:
    """Why a real-name check is not tried for ``number``, or None."""
    if user.proofing_level >= 2:
        return "level"
    digest = accounts.national_id_digest(session, data_keys=idp.data_keys, number=number)
    if user.national_id_digest is not None and user.national_id_digest != digest:
        return "different"
    holder = accounts.holder_of_national_id(session, digest)
    if holder is not None and holder.id != user.id:
        return "taken"
    return None


def issue_liveness(idp: IdentityProvider, user_id: str) -> str | None:
    """A development liveness token for the person (None unless the development face
    verifier is configured: a real SDK makes its own in the browser)."""
    face = idp.face
    return face.issue(user_id) if isinstance(face, DevelopmentFaceVerifier) else None


def check_face(
    idp: IdentityProvider, *, user_id: str, liveness_token: str, address: str
) -> Outcome:
    """Level 2 → 3: the face-check service confirms a live person holding the confirmed
    identity number."""
    verifier = idp.face
    if verifier is None:
        return Outcome("off")
    with idp.database.transaction() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return Outcome("off")
        masked = user.national_id_masked
        refusal = None
        if user.proofing_level != 2 or user.national_id_sealed is None:
            refusal = "level"
        elif not liveness_token or len(liveness_token) > 4096:
            refusal = "invalid"
        stopped = _not_tried(
            idp, session, user=user, check="face", refusal=refusal, address=address, masked=masked
        )
        if stopped is not None:
            return stopped
        number = accounts.reveal_national_id(session, user, data_keys=idp.data_keys) or ""
    verdict = verifier.verify(user_id=user_id, national_id=number, liveness_token=liveness_token)
    with idp.database.transaction() as session:
        user = session.get(User, user_id, with_for_update=True)
        assert user is not None
        before = user.proofing_level
        if verdict is FaceVerdict.CONFIRMED and user.proofing_level == 2:
            _raise_level(user, 3)
        _record(
            idp,
            session,
            user=user,
            check="face",
            verdict=str(verdict),
            address=address,
            masked=masked,
            level_before=before,
        )
        return Outcome(str(verdict), level=user.proofing_level)
