"""Shared setup of the SMS tests: an app sending text messages to a stand-in provider, people
with verified phones, and reading forms off our pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from core.settings import Settings
from idp import accounts
from idp.runtime import IdentityProvider
from tests import factors, oidc, sms_provider
from tongxing import create_app
from tongxing.composition import Domain

PHONE = "13800138000"
OTHER_PHONE = "13900139000"


@pytest.fixture
def sms() -> Iterator[sms_provider.Provider]:
    """The stand-in SMS provider."""
    with sms_provider.provider() as state:
        yield state


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings], sms: sms_provider.Provider
) -> Iterator[Callable[..., TestClient]]:
    """Start the app (on the current storage configuration) with settings overrides; SMS
    goes to :func:`sms`. Every app started is stopped afterwards."""
    started: list[TestClient] = []

    def start(**overrides: object) -> TestClient:
        values = {**sms_provider.settings(sms), **overrides}
        client = TestClient(create_app(make_settings(**values)), raise_server_exceptions=False)
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def app(make_app: Callable[..., TestClient]) -> TestClient:
    """The app with default SMS settings and a first-party relying party."""
    client = make_app()
    oidc.add_rp(oidc.domain_of(client), first_party=True)
    return client


def idp_of(client: TestClient) -> IdentityProvider:
    """The identity provider behind ``client``."""
    found: IdentityProvider = runtime_of(client.app).get(IdentityProvider)
    return found


def add_phone_person(
    domain: Domain,
    username: str = "lisi",
    *,
    phone: str = PHONE,
    verified: bool = True,
    proofing_level: int = 2,
    second_factor: bool = False,
) -> str:
    """A person with :data:`tests.oidc.PASSWORD` and a phone (verified or not)."""
    with domain.keys.database.transaction() as session:
        user = accounts.create_user(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            username=username,
            display_name="李四",
            actor="test",
            password=oidc.PASSWORD,
            phone=phone,
            proofing_level=proofing_level,
        )
        user.phone_verified = verified
        user_id = user.id
    if second_factor:
        factors.enrol_totp(domain, user_id)
    return user_id


def form(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form posting to ``action``."""
    found = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert found, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', found.group(1)))


def browser(client: TestClient) -> TestClient:
    """Another browser (its own cookies) on the same app."""
    return TestClient(client.app, base_url=str(client.base_url), raise_server_exceptions=False)


def audit_types(client: TestClient) -> list[str]:
    """The audit log's event types, oldest first."""
    with oidc.domain_of(client).keys.database.reading() as session:
        return [e.type for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))]


def audit_leaves(client: TestClient) -> bytes:
    """Every audit entry's canonical JSON, joined (to search for what must not be there)."""
    with oidc.domain_of(client).keys.database.reading() as session:
        return b"\n".join(e.leaf for e in session.scalars(select(AuditEntry)))
