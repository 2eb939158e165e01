"""Who an upstream's verified sign-in is here (``idp.federated_accounts``) without a real
upstream: a first sign-in that loses the race for its identity number to another process
finds the winner instead of failing, the upstream's phone is kept only when trusted and
verified, and signing in again refreshes the session's organisation choice."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.api.deps import runtime_of
from idp import accounts, federated_accounts, federation, upstreams
from idp.models import UpstreamLink, User
from idp.runtime import IdentityProvider

NUMBER = "110101199003074477"


def _idp(client: TestClient, *, trusted: int | None = 2) -> IdentityProvider:
    idp: IdentityProvider = runtime_of(client.app).get(IdentityProvider)
    with idp.database.transaction() as session:
        upstreams.create(
            session,
            data_keys=idp.data_keys,
            events=idp.events,
            actor="test",
            upstream_id="province",
            name_zh="省平台",
            name_en="Province",
            discovery_url="https://idp.province.example/.well-known/openid-configuration",
            client_id="tongxing",
            client_secret="the-upstream-client-secret-42",
            scopes=["openid"],
            claim_map={"name": "name", "national_id": "id_number", "phone": "phone_number"},
            acr_map={},
            trusted_proofing_level=trusted,
        )
    return idp


def _finish(idp: IdentityProvider, claims: dict[str, Any], handle: str | None = None) -> Any:
    upstream = federation.enabled_upstream(idp, "province")
    assert upstream is not None
    return federation._finish_as(
        idp,
        upstream,
        claims,
        {"id": "province", "sub": claims["sub"]},
        browser="b",
        interaction="i",
        address="127.0.0.1",
        user_agent="test",
        handle=handle,
    )


def test_a_first_sign_in_losing_the_identity_number_race_finds_the_winner(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    idp = _idp(client)
    with idp.database.transaction() as session:  # the other process's person, committed
        winner = accounts.create_user(
            session,
            data_keys=idp.data_keys,
            events=idp.events,
            username="winner",
            display_name="王五",
            actor="test",
            national_id=NUMBER,
            proofing_level=2,
        ).id
    real = accounts.holder_of_national_id
    calls: list[int] = []

    def not_yet(session: Any, digest: Any) -> User | None:  # read before it committed
        calls.append(1)
        return None if len(calls) == 1 else real(session, digest)

    monkeypatch.setattr(federated_accounts.accounts, "holder_of_national_id", not_yet)
    outcome = _finish(idp, {"sub": "wang", "name": "王五", "id_number": NUMBER})
    assert isinstance(outcome, federation.SignedIn) and outcome.opened.session.user_id == winner
    with idp.database.reading() as session:
        assert session.get(UpstreamLink, ("https://idp.province.example", "wang")) is not None
        assert len(session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize(
    ("trusted", "verified", "kept"),
    [(2, True, True), (2, False, False), (2, None, False), (None, True, False)],
)
def test_the_upstreams_phone_is_kept_only_when_trusted_and_verified(
    client: TestClient, trusted: int | None, verified: bool | None, kept: bool
) -> None:
    idp = _idp(client, trusted=trusted)
    claims: dict[str, Any] = {"sub": "wang", "name": "王五", "phone_number": "13900000001"}
    if verified is not None:
        claims["phone_number_verified"] = verified
    outcome = _finish(idp, claims)
    assert isinstance(outcome, federation.SignedIn)
    with idp.database.reading() as session:
        person = session.get(User, outcome.opened.session.user_id)
        assert person is not None
        assert person.phone == ("13900000001" if kept else None)


def test_signing_in_again_drops_the_sessions_earlier_organisation_choice(
    client: TestClient,
) -> None:
    idp = _idp(client)
    claims = {"sub": "wang", "name": "王五", "id_number": NUMBER}
    first = _finish(idp, claims)
    assert isinstance(first, federation.SignedIn)

    def chosen(sso: Any) -> None:
        sso.organisation_id, sso.agent_authorisation_id = "org-1", "agent-1"
        sso.organisation_chosen = True

    idp.sessions.update(first.opened.handle, chosen)
    again = _finish(idp, claims, handle=first.opened.handle)
    assert isinstance(again, federation.SignedIn)
    assert again.opened.handle == first.opened.handle  # the same session, refreshed
    session = idp.sessions.get(again.opened.handle)
    assert session is not None
    assert session.organisation_id is None and session.agent_authorisation_id is None
    assert session.organisation_chosen is False


@pytest.mark.parametrize("trusted", [2, 3])
def test_a_person_from_a_trusted_upstream_is_proofed_by_the_upstream(
    client: TestClient, trusted: int
) -> None:
    idp = _idp(client, trusted=trusted)
    outcome = _finish(idp, {"sub": "wang", "name": "王五", "id_number": NUMBER})
    assert isinstance(outcome, federation.SignedIn)
    with idp.database.reading() as session:
        person = session.get(User, outcome.opened.session.user_id)
        assert person is not None
        assert (person.proofing_level, person.proofing_method) == (trusted, "upstream")
