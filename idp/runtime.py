"""The identity provider's long-lived services of one app process, built once and shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from core.database import Database
from core.events import EventRecorder
from core.settings import Settings
from core.store import Store
from core.ttl_cache import TtlCache
from idp import proofing, repository
from idp.codes import Codes
from idp.interactions import Interactions
from idp.login_limits import LoginLimits
from idp.models import Client
from idp.protocol.rfc7523 import ClientKeys
from idp.sessions import SessionStore
from idp.sms import SmsGateway
from idp.upstream_metadata import UpstreamDirectory
from keys import revocations
from keys.access_tokens import AccessTokenVerifier
from keys.custody import KeyCustody
from keys.data_keys import DataKeys

CLIENT_CACHE_SECONDS = 5.0


@dataclass
class IdentityProvider:
    """Everything the IdP's endpoints use."""

    settings: Settings
    database: Database
    store: Store
    custody: KeyCustody
    data_keys: DataKeys
    events: EventRecorder
    tokens: AccessTokenVerifier
    # Where back-channel logout tokens go: None is the network. Tests (and a demo process
    # whose apps it serves itself) route them straight into an app; tests also shorten the
    # retry delays (None: ``idp.backchannel.DELAYS``).
    backchannel_transport: httpx.AsyncBaseTransport | None = None
    backchannel_delays: tuple[float, ...] | None = None
    # Where text messages go (idp.sms.build_gateway); None: no SMS methods are offered.
    sms: SmsGateway | None = None
    sessions: SessionStore = field(init=False)
    interactions: Interactions = field(init=False)
    codes: Codes = field(init=False)
    limits: LoginLimits = field(init=False)
    client_cache: TtlCache[str, Client] = field(init=False)
    userinfo_cache: TtlCache[str, Any] = field(init=False)
    client_keys: ClientKeys = field(init=False)
    # Identity checks (实名核验): None when the settings turn them off (idp.proofing).
    real_name: proofing.RealNameVerifier | None = field(init=False)
    face: proofing.FaceVerifier | None = field(init=False)
    proofing_limits: proofing.ProofingLimits = field(init=False)
    # Upstream providers' documents and keys, and requests to them (idp.federation).
    upstream_directory: UpstreamDirectory = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionStore(
            store=self.store, lifetime=self.settings.sso_session_ttl_seconds
        )
        self.interactions = Interactions(store=self.store)
        self.codes = Codes(store=self.store, lifetime=self.settings.authorization_code_ttl_seconds)
        self.client_cache = TtlCache(seconds=CLIENT_CACHE_SECONDS)
        self.userinfo_cache = TtlCache(seconds=CLIENT_CACHE_SECONDS)
        self.client_keys = ClientKeys()
        self.limits = LoginLimits(
            store=self.store,
            per_account=self.settings.login_attempts_per_account,
            per_address=self.settings.login_attempts_per_address,
            per_device=self.settings.login_attempts_per_account,
        )
        self.real_name = proofing.build_real_name(self.settings)
        self.face = proofing.build_face(
            self.settings, store=self.store, key=lambda: self.data_key(proofing.LIVENESS_KEY)
        )
        self.upstream_directory = UpstreamDirectory()
        self.proofing_limits = proofing.ProofingLimits(
            store=self.store,
            per_person=self.settings.proofing_attempts_per_person,
            per_address=self.settings.proofing_attempts_per_address,
        )

    @property
    def issuer(self) -> str:
        """Our issuer identifier."""
        return self.settings.issuer

    def client(self, client_id: str) -> Client | None:
        """A client's registration, cached for a few seconds per process: disabling a client
        or rotating its secret takes effect everywhere within :data:`CLIENT_CACHE_SECONDS`."""
        cached = self.client_cache.get(client_id)
        if cached is not None:
            return cached
        with self.database.reading() as session:
            found = repository.client_snapshot(session, client_id)
        if found is not None:
            self.client_cache.put(client_id, found)
        return found

    def grant_revoked(self, grant_id: str) -> None:
        """Tell every process at once that a grant is revoked (its access tokens stop
        working before their expiry); call after the revocation is committed."""
        revocations.announce(self.store, grant_id, ttl=self.settings.access_token_ttl_seconds + 60)

    def is_grant_revoked(self, grant_id: str) -> bool:
        """Whether a revocation was announced for the grant (see :meth:`grant_revoked`)."""
        return revocations.announced(self.store, grant_id)

    def data_key(self, purpose: str) -> bytes:
        """A data key, cached after its first committed use. Never call this while holding
        a write transaction: on SQLite it would wait on that transaction's own lock."""
        cached = self.data_keys.cached(purpose)
        if cached is not None:  # the usual case: no transaction, no write lock
            return cached
        with self.database.transaction() as session:
            return self.data_keys.get(session, purpose)

    @property
    def access_token_lifetime(self) -> timedelta:
        """Lifetime of access tokens."""
        return timedelta(seconds=self.settings.access_token_ttl_seconds)

    @property
    def refresh_token_lifetime(self) -> timedelta:
        """Lifetime of one refresh token (each use issues a new one)."""
        return timedelta(seconds=self.settings.refresh_token_ttl_seconds)
