"""SQL models of the identity provider: people, organisations, clients, grants, consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base

# Identity proofing (实名核验) levels, see :mod:`idp.assurance`: 1 self-declared, 2 name and
# identity number confirmed by an authority, 3 a real person (face check), 4 in person.
PROOFING_LEVELS = (1, 2, 3, 4)
# How each level is reached (the ``proofing_method`` recorded with it).
PROOFING_METHODS = {1: "self", 2: "authority", 3: "face", 4: "counter"}
# A person created from an upstream provider trusted for identity numbers: the upstream
# vouched for the number (idp.federated_accounts); no check of ours happened.
UPSTREAM_PROOFING = "upstream"
ROLES = ("admin", "member")
# The three platform roles (三权分立): nobody holds two of them (``platform_roles.user_id``
# is the primary key, so the database refuses a second role too).
PLATFORM_ROLES = ("system-admin", "security-admin", "audit-admin")


class User(Base):
    """A natural person (citizen) who signs in."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # How well we know who the person is (idp.assurance), separate from how they sign in.
    proofing_level: Mapped[int] = mapped_column(Integer, default=1)
    # How the level was reached (self|authority|face|counter) and when.
    proofing_method: Mapped[str] = mapped_column(String(16), default="self")
    proofed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set once a code sent to the phone number came back (SMS sign-in needs it).
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The WebAuthn user handle (random, not the user id: it is stored on authenticators).
    webauthn_handle: Mapped[bytes | None] = mapped_column(
        LargeBinary(64), unique=True, nullable=True
    )
    # The person asked for the account to be deleted (个人信息保护法); purged after a delay.
    deletion_requested_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # The identity number: encrypted, a keyed digest to find duplicates, and a masked copy.
    national_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    national_id_digest: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    national_id_masked: Mapped[str | None] = mapped_column(String(18), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # A lock is the security administrator's disabling (三权分立): only they lift it, the
    # system administrator's "enable" does not.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Organisation(Base):
    """A legal person (enterprise, institution) whose staff act for it."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    """A person's role in an organisation."""

    __tablename__ = "memberships"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PlatformRole(Base):
    """The one platform role (system, security or audit administrator) a person holds."""

    __tablename__ = "platform_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), index=True)
    granted_by: Mapped[str] = mapped_column(String(160))
    confirmed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Client(Base):
    """A relying party (department app) or machine client registered by an administrator."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_digest: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    jwks_uri: Mapped[str | None] = mapped_column(String(512), nullable=True)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(512), nullable=True)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    pairwise_sector: Mapped[str | None] = mapped_column(String(255), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The lowest level of assurance (idp.assurance) a sign-in needs for this client; None = 1.
    min_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The organisation that owns the client (its administrators may request seal grants).
    owner_organisation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class Grant(Base):
    """What one authorization (a code redeemed) gave a client: the root every token of it
    hangs from, so revoking the grant revokes them all (code replay, refresh reuse, logout).

    A revoked grant may be a tombstone (no user): a replayed code can revoke a grant whose
    redemption is still in flight, which then fails to insert."""

    __tablename__ = "oauth_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256 digest; rotated on every use."""

    __tablename__ = "refresh_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("oauth_grants.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Consent(Base):
    """The scopes a person allowed a client to receive."""

    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogoutDelivery(Base):
    """One back-channel logout token sent (or being sent) to one client."""

    __tablename__ = "logout_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    sid: Mapped[str] = mapped_column(String(64))
    uri: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Authenticator(Base):
    """A second (or passwordless) factor a person enrolled: a TOTP secret or a passkey."""

    __tablename__ = "authenticators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # totp | passkey
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # TOTP: the secret sealed under a data key, and the last time step accepted (replay).
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Passkey: the credential id, its COSE public key, the sign counter and flags.
    credential_id: Mapped[bytes | None] = mapped_column(
        LargeBinary(1024), unique=True, nullable=True
    )
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backup_state: Mapped[bool] = mapped_column(Boolean, default=False)


class RecoveryCode(Base):
    """One single-use recovery code, stored as a keyed digest."""

    __tablename__ = "recovery_codes"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignInRecord(Base):
    """One sign-in or step-up, for the person's own history; purged after the retention
    period (``sign_in_retention_days``)."""

    __tablename__ = "sign_in_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sign-in | step-up
    methods: Mapped[list[str]] = mapped_column(JSON)
    acr: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))


class CasService(Base):
    """A legacy department app that signs people in with CAS 3.0 (``idp.cas``): its service
    URL is matched exactly, never as a pattern."""

    __tablename__ = "cas_services"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service: Mapped[str] = mapped_column(String(512), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # The lowest level of assurance (idp.assurance) a sign-in needs for it; None = 1.
    min_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Whether single-logout requests are posted to the service URL (a plain-http loopback
    # URL outside demo mode is a browser address only: this server never posts there).
    single_logout: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgentAuthorisation(Base):
    """An organisation's authorisation of a person to act for it (经办人授权): for all its
    business (``all``, 全业务) or for listed apps (``apps``, 精准授权), for a period.

    ``status``: ``offered`` (waiting for the person), ``accepted``, ``declined``, ``revoked``
    (by an administrator) or ``expired`` (its end noticed). It is current while accepted and
    inside ``[valid_from, valid_until)``; see :mod:`idp.agents`."""

    __tablename__ = "agent_authorisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    scope: Mapped[str] = mapped_column(String(8))  # all | apps
    client_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)
    offered_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(160), nullable=True)


class TokenExchangePair(Base):
    """An app (client) allowed to exchange the access tokens issued to it for tokens aimed at
    one of our resource servers (RFC 8693), with at most these scopes there."""

    __tablename__ = "token_exchange_pairs"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), primary_key=True)
    # The target resource server, as a path under our issuer (e.g. ``/seal``).
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UpstreamProvider(Base):
    """An upstream OpenID provider (the provincial platform) people may sign in through,
    configured by an administrator (:mod:`idp.upstreams`)."""

    __tablename__ = "upstream_providers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # a slug, in our URLs
    # "oidc", or "ticket:<mapping>" for a ticket-style platform (idp.ticket_bridge), whose
    # base URL is then in discovery_url and issuer.
    protocol: Mapped[str] = mapped_column(String(32), default="oidc")
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    discovery_url: Mapped[str] = mapped_column(String(512))
    # The issuer the discovery document must name (discovery URL minus the well-known path).
    issuer: Mapped[str] = mapped_column(String(512), unique=True)
    client_id: Mapped[str] = mapped_column(String(255))
    # The client secret sealed under the ``upstream-secret`` data key (AES-GCM, bound to id).
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # Which upstream claim is the name, the identity number, the phone number.
    claim_map: Mapped[dict[str, str]] = mapped_column(JSON)
    # Upstream ``acr`` value -> our level (1..4); an unmapped or absent acr counts as 1.
    acr_map: Mapped[dict[str, int]] = mapped_column(JSON)
    # Upstream ``amr`` value -> the RFC 8176 value passed on in our ``amr`` (idp.assurance).
    amr_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The proofing level a verified identity number earns (None: not trusted for it).
    trusted_proofing_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UpstreamLink(Base):
    """A person's account at an upstream provider (its issuer and ``sub``) linked to ours."""

    __tablename__ = "upstream_links"

    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    upstream_id: Mapped[str] = mapped_column(ForeignKey("upstream_providers.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
