"""Wires one process's domain services: key custody, the audit log, keys, token checks.

The audit log records key events and signs its checkpoints with a key from custody, so
custody is built first, then the log, then the key services that record into it.
"""

from __future__ import annotations

from dataclasses import dataclass

from admin.service import Administration
from audit.log import AuditLog, origin_for
from core.database import Database
from core.settings import Settings
from core.store import Store
from idp.runtime import IdentityProvider
from idp.sms import build_gateway
from keys.access_tokens import AccessTokenVerifier
from keys.custody import KeyCustody
from keys.data_keys import DataKeys
from keys.hierarchy import Hierarchy
from keys.runtime import KeyServices
from seal.runtime import SealingService


@dataclass
class Domain:
    """The domain services of one process."""

    keys: KeyServices
    audit: AuditLog
    tokens: AccessTokenVerifier
    data_keys: DataKeys

    def close(self) -> None:
        """Close HSM sessions."""
        self.keys.custody.close()


def build_domain(*, settings: Settings, database: Database) -> Domain:
    """Construct (without opening anything) the domain services on ``database``."""
    custody = KeyCustody(settings=settings, database=database)
    audit_log = AuditLog(
        database=database, custody=custody, proposed_origin=origin_for(settings.issuer)
    )
    keys = KeyServices(
        custody=custody,
        hierarchy=Hierarchy(settings=settings, custody=custody, events=audit_log),
        events=audit_log,
    )
    tokens = AccessTokenVerifier(
        database=database, issuer=settings.issuer, retention=keys.token_key_retention
    )
    data_keys = DataKeys(custody=custody)
    return Domain(keys=keys, audit=audit_log, tokens=tokens, data_keys=data_keys)


def build_identity_provider(*, domain: Domain, store: Store) -> IdentityProvider:
    """The identity provider on the process's domain services and shared store."""
    custody = domain.keys.custody
    return IdentityProvider(
        settings=custody.settings,
        database=custody.database,
        store=store,
        custody=custody,
        data_keys=domain.data_keys,
        events=domain.audit,
        tokens=domain.tokens,
        sms=build_gateway(custody.settings, store=store),
    )


def build_sealing_service(*, domain: Domain, store: Store) -> SealingService:
    """The sealing service on the process's domain services and shared store."""
    custody = domain.keys.custody
    return SealingService(
        settings=custody.settings,
        database=custody.database,
        store=store,
        keys=domain.keys,
        audit=domain.audit,
        data_keys=domain.data_keys,
    )


def build_administration(*, domain: Domain, identity: IdentityProvider) -> Administration:
    """The rule book of administration on the process's domain services and the process's
    identity provider (whose sessions and grants acts such as a reset of factors end)."""
    custody = domain.keys.custody
    return Administration(
        settings=custody.settings,
        database=custody.database,
        events=domain.audit,
        keys=domain.keys,
        data_keys=domain.data_keys,
        identity=identity,
    )
