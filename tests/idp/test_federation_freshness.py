"""A ticket platform cannot prove a fresh sign-in: an interaction asking ``prompt=login`` or
``max_age`` is refused before the browser is sent there (a clear page and an audit event),
and an ID token's ``auth_time`` is checked against the ``max_age`` we sent upstream."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp import federation, upstream_answer, upstreams
from idp.protocol import oidc_rp
from idp.runtime import IdentityProvider


def _ticket_platform(client: TestClient) -> IdentityProvider:
    idp: IdentityProvider = runtime_of(client.app).get(IdentityProvider)
    with idp.database.transaction() as session:
        upstreams.create(
            session,
            data_keys=idp.data_keys,
            events=idp.events,
            actor="test",
            upstream_id="platform",
            name_zh="平台",
            name_en="Platform",
            discovery_url="https://platform.example",
            client_id="tongxing",
            client_secret="the-platform-secret-0123456789",
            scopes=[],
            claim_map={},
            acr_map={},
            protocol="ticket:json-v1",
        )
    return idp


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"max_age": "60"}])
def test_a_ticket_platform_is_refused_a_fresh_sign_in(
    client: TestClient, params: dict[str, str]
) -> None:
    idp = _ticket_platform(client)
    waiting = idp.interactions.start(browser="b", params={"client_id": "x", **params})
    answer = federation.start(idp, upstream_id="platform", browser="b", interaction_id=waiting.id)
    assert isinstance(answer, federation.Refused) and answer.reason == "fresh"
    with idp.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == "login.upstream_failed")
        assert len(session.scalars(query).all()) == 1
    plain = idp.interactions.start(browser="b", params={"client_id": "x"})
    sent = federation.start(idp, upstream_id="platform", browser="b", interaction_id=plain.id)
    assert isinstance(sent, str) and sent.startswith("https://platform.example/login?")


def test_the_upstreams_auth_time_is_checked_against_max_age() -> None:
    now = int(time.time())
    assert upstream_answer.auth_time({"auth_time": now - 100}, max_age=300) == now - 100
    never_later = upstream_answer.auth_time({"auth_time": now + 999}, max_age=None)
    assert never_later is not None and now <= never_later <= int(time.time())  # not the future
    assert upstream_answer.auth_time({}, max_age=None) is None
    with pytest.raises(oidc_rp.UpstreamTokenError, match="missing"):
        upstream_answer.auth_time({}, max_age=300)
    with pytest.raises(oidc_rp.UpstreamTokenError, match="older"):
        upstream_answer.auth_time({"auth_time": now - 400}, max_age=300)
