"""Token exchange (RFC 8693) end to end in one app: a department app exchanges the access
token of a person acting for the bureau (as its agent, 经办人) for one aimed at the sealing
API, with ``act`` naming the app; the sealing API needs the app's grant, a seal of the
bureau and a strong sign-in (RFC 9470 otherwise); unregistered pairs and bad requests get
RFC 8693 §2.2.2 errors; revoking the authorisation stops the exchanged token at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import actors
from admin import token_exchange as exchange_rules
from admin.errors import Forbidden, Invalid
from admin.service import Administration
from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp import agents, repository
from idp.runtime import IdentityProvider
from seal import grants
from tests import oidc
from tests.seal import world as sw

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
LEVEL_3 = "urn:tongxing:loa:3"


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    seals = sw.make_world(client)  # the bureau (officer administers it), a seal, a cert system
    domain = oidc.domain_of(client)
    oidc.add_person(domain, "zhangsan", proofing_level=4, second_factor=True)
    oidc.add_rp(domain, "permits", first_party=True)
    oidc.add_rp(domain, "housing", first_party=True)
    idp = runtime_of(client.app).get(IdentityProvider)
    with domain.keys.database.transaction() as session:
        grants.create(
            session,
            events=domain.audit,
            seal_id=seals.seal_id,
            client_id="permits",
            approved_by="officer",
            actor="test",
        )
        bureau = repository.organisation(session, sw.USCC)
        person = repository.user_by_login(session, "zhangsan")
        assert bureau is not None and person is not None
        offered = agents.offer(
            session,
            events=idp.events,
            organisation=bureau,
            user=person,
            scope="all",
            client_ids=[],
            valid_from=datetime.now(UTC) - timedelta(minutes=1),
            valid_until=datetime.now(UTC) + timedelta(days=1),
            actor="person:officer",
        )
        agents.decide(
            session, events=idp.events, authorisation_id=offered.id, user_id=person.id, accept=True
        )
    return {"seals": seals, "authorisation_id": offered.id, "idp": idp}


def _person_token(
    client: TestClient,
    *,
    client_id: str = "permits",
    acr_values: str | None = LEVEL_3,
    organisation: str = "",
) -> str:
    """An access token of zhangsan at ``client_id`` from a real code flow (a fresh browser)."""
    browser = TestClient(client.app, base_url=str(client.base_url))
    extra = {"acr_values": acr_values} if acr_values else {}
    request = oidc.Request(client_id=client_id, scope="openid profile", extra=extra)
    callback = oidc.sign_in(browser, request, organisation=organisation)
    response = oidc.redeem(client, request, callback["code"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _exchange(client: TestClient, subject: str, **form: str) -> Any:
    data = {
        "grant_type": GRANT_TYPE,
        "subject_token": subject,
        "subject_token_type": ACCESS_TOKEN,
        "resource": _issuer(client) + "/seal",
        **form,
    }
    return client.post(
        "/token", data={k: v for k, v in data.items() if v}, headers=oidc.basic("permits")
    )


def _issuer(client: TestClient) -> str:
    return runtime_of(client.app).get(IdentityProvider).issuer


def _allow(client: TestClient) -> None:
    admin = runtime_of(client.app).get(Administration)
    # No platform role is held in this world: the server operator sets up (as the CLI would).
    exchange_rules.allow(
        admin, actors.server(actors.SETUP), client_id="permits", resource="/seal", scopes=[]
    )


def test_an_app_seals_for_the_organisation_its_agent_acts_for(
    client: TestClient, world: dict[str, Any]
) -> None:
    seals: sw.World = world["seals"]
    agent = agents.CHOICE_PREFIX + world["authorisation_id"]
    subject = _person_token(client, organisation=agent)
    refused = _exchange(client, subject)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    _allow(client)
    answer = _exchange(client, subject)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
    assert body["scope"] == "seal:sign" and "refresh_token" not in body
    claims = oidc.jwt_claims(body["access_token"])
    assert claims["aud"] == _issuer(client) + "/seal"
    assert claims["act"] == {"sub": "permits"} and claims["client_id"] == "permits"
    assert claims["org"]["code"] == sw.USCC and claims["org"]["role"] == "agent"
    assert claims["org"]["authorisation_id"] == world["authorisation_id"]
    assert claims["acr"] == LEVEL_3
    sealed = seals.sign(token=body["access_token"])
    assert sealed.status_code == 200, sealed.text
    assert sealed.content.startswith(b"%PDF-")
    with oidc.domain_of(client).keys.database.reading() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.type == "seal.applied")).one()
        recorded = json.loads(entry.leaf)["details"]
    assert recorded["client_id"] == "permits"
    assert recorded["on_behalf_of"] == {
        "sub": claims["sub"],
        "org": sw.USCC,
        "authorisation_id": world["authorisation_id"],
    }
    # The subject token itself is no sealing token.
    assert seals.sign(token=subject).status_code == 401

    # Revoking the agent authorisation stops the exchanged token at once, and new exchanges.
    admin = runtime_of(client.app).get(Administration)
    from admin import agents as agent_rules

    with oidc.domain_of(client).keys.database.reading() as session:
        officer = repository.user_by_login(session, "officer")
        assert officer is not None
        acting = actors.person(session, officer)
    agent_rules.revoke(admin, acting, ref=sw.USCC, authorisation_id=world["authorisation_id"])
    stopped = seals.sign(token=body["access_token"])
    assert stopped.status_code == 401
    assert stopped.json()["type"] == "urn:tongxing:problem:invalid-token"
    again = _exchange(client, subject)
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    with oidc.domain_of(client).keys.database.reading() as session:
        entries = session.scalars(
            select(AuditEntry.leaf).where(AuditEntry.type.like("token%")).order_by(AuditEntry.index)
        ).all()
    recorded = [json.loads(leaf) for leaf in entries]
    assert [e["type"] for e in recorded] == [
        "token.exchange_refused",
        "token_exchange.allowed",
        "token.exchanged",
        "token.exchange_refused",
    ]
    assert recorded[0]["details"]["error"] == "unauthorized_client"
    assert recorded[2]["details"]["sub"] == claims["sub"]
    assert recorded[2]["details"]["authorisation_id"] == world["authorisation_id"]
    assert recorded[3]["details"]["error"] == "invalid_request"
    assert all(subject.encode() not in leaf for leaf in entries)  # never the token


def test_the_sealing_api_wants_a_strong_sign_in_and_the_organisations_seal(
    client: TestClient, world: dict[str, Any]
) -> None:
    seals: sw.World = world["seals"]
    _allow(client)
    agent = agents.CHOICE_PREFIX + world["authorisation_id"]
    weak = _exchange(client, _person_token(client, acr_values=None, organisation=agent)).json()
    assert oidc.jwt_claims(weak["access_token"])["acr"] == "urn:tongxing:loa:2"
    answer = seals.sign(token=weak["access_token"])
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:tongxing:problem:insufficient-user-authentication"
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge
    assert f'acr_values="{LEVEL_3}"' in challenge
    # Acting for oneself: no organisation, so no organisation's seal.
    personal = _exchange(client, _person_token(client, organisation="")).json()
    assert "org" not in oidc.jwt_claims(personal["access_token"])
    answer = seals.sign(token=personal["access_token"])
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:tongxing:problem:seal-not-of-organisation"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
        ({"subject_token": "not.a.token"}, "invalid_request"),
        ({"resource": "", "audience": ""}, "invalid_request"),
        ({"resource": "https://elsewhere.example/seal"}, "invalid_target"),
        ({"resource": "{base}/admin"}, "invalid_target"),
        ({"audience": "{base}/userinfo"}, "invalid_target"),
        ({"scope": "admin:system"}, "invalid_scope"),
        (
            {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            "invalid_request",
        ),
        ({"actor_token": "x", "actor_token_type": ACCESS_TOKEN}, "invalid_request"),
    ],
)
def test_bad_exchanges_get_rfc_8693_errors(
    client: TestClient, world: dict[str, Any], form: dict[str, str], error: str
) -> None:
    _allow(client)
    subject = _person_token(client, acr_values=None)
    base = _issuer(client)
    answer = _exchange(client, subject, **{k: v.format(base=base) for k, v in form.items()})
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] == error


def test_a_token_of_another_app_is_not_exchanged(client: TestClient, world: dict[str, Any]) -> None:
    _allow(client)
    foreign = _person_token(client, client_id="housing", acr_values=None)
    answer = _exchange(client, foreign)
    assert answer.json()["error"] == "invalid_request"


def test_only_the_system_administrator_registers_pairs(
    client: TestClient, world: dict[str, Any]
) -> None:
    admin = runtime_of(client.app).get(Administration)
    with pytest.raises(Invalid, match="one of /seal"):
        exchange_rules.allow(
            admin, actors.server(actors.SETUP), client_id="permits", resource="/admin", scopes=[]
        )
    with pytest.raises(Invalid, match="among seal:sign"):
        exchange_rules.allow(
            admin,
            actors.server(actors.SETUP),
            client_id="permits",
            resource="/seal",
            scopes=["admin:system"],
        )
    with pytest.raises(
        Invalid, match="people sign in to"
    ):  # a machine client holds no person's token
        exchange_rules.allow(
            admin, actors.server(actors.SETUP), client_id=sw.CLIENT_ID, resource="/seal", scopes=[]
        )
    with oidc.domain_of(client).keys.database.reading() as session:
        officer = repository.user_by_login(session, "officer")
        assert officer is not None
        acting = actors.person(session, officer)
    with pytest.raises(Forbidden):  # an organisation's administrator: not this
        exchange_rules.allow(admin, acting, client_id="permits", resource="/seal", scopes=[])
    _allow(client)
    listed = exchange_rules.list_pairs(admin, actors.server(actors.SETUP))
    assert [(p["client_id"], p["resource"]) for p in listed["items"]] == [("permits", "/seal")]


def test_an_exchanged_token_lives_briefly_and_never_beyond_the_authorisation(
    client: TestClient, world: dict[str, Any]
) -> None:
    from idp.protocol import rfc8693

    _allow(client)
    personal = _exchange(client, _person_token(client, organisation="")).json()
    assert 0 < personal["expires_in"] <= rfc8693.MAX_EXCHANGED_LIFETIME.total_seconds() == 120
    claims = oidc.jwt_claims(personal["access_token"])
    assert claims["exp"] - claims["iat"] <= 120
    agent = agents.CHOICE_PREFIX + world["authorisation_id"]
    subject = _person_token(client, organisation=agent)
    idp: IdentityProvider = world["idp"]
    with idp.database.transaction() as session:
        found = repository.agent_authorisation(session, world["authorisation_id"])
        assert found is not None
        found.valid_until = datetime.now(UTC) + timedelta(seconds=30)
    answer = _exchange(client, subject).json()
    assert answer["expires_in"] <= 30
    claims = oidc.jwt_claims(answer["access_token"])
    assert claims["exp"] - claims["iat"] <= 31


def test_the_person_must_still_be_signed_in_and_proofed(
    client: TestClient, world: dict[str, Any]
) -> None:
    _allow(client)
    idp: IdentityProvider = world["idp"]
    subject = _person_token(client)
    assert oidc.jwt_claims(_exchange(client, subject).json()["access_token"])["acr"] == LEVEL_3
    # A lowered proofing level lowers what the exchange vouches for.
    with idp.database.transaction() as session:
        person = repository.user_by_login(session, "zhangsan")
        assert person is not None
        person.proofing_level = 2
        user_id = person.id
    lowered = _exchange(client, subject).json()
    assert oidc.jwt_claims(lowered["access_token"])["acr"] == "urn:tongxing:loa:2"
    # Signed out (the session ends; the grant is still active in SQL): no more exchanges.
    for reference, _ in idp.sessions.of_user(user_id):
        idp.sessions.end_by_reference(user_id, reference)
    ended = _exchange(client, subject)
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_request"
    assert "sign-in has ended" in ended.json()["error_description"]


def test_a_public_client_never_exchanges(client: TestClient, world: dict[str, Any]) -> None:
    from idp.errors import UnauthorizedClient
    from idp.models import TokenExchangePair
    from idp.protocol import rfc8693

    domain = oidc.domain_of(client)
    oidc.add_rp(domain, "spa", public=True, redirect_uri="https://spa.example/cb")
    admin = runtime_of(client.app).get(Administration)
    with pytest.raises(Invalid, match="public client"):
        exchange_rules.allow(
            admin, actors.server(actors.SETUP), client_id="spa", resource="/seal", scopes=[]
        )
    idp: IdentityProvider = world["idp"]
    with idp.database.transaction() as session:  # a pair from before the rule, say
        session.add(
            TokenExchangePair(
                client_id="spa",
                resource="/seal",
                scopes=["seal:sign"],
                created_by="test",
                created_at=datetime.now(UTC),
            )
        )
    with idp.database.reading() as session:
        spa = repository.client(session, "spa")
        assert spa is not None
    form = {
        "subject_token": "x",
        "subject_token_type": ACCESS_TOKEN,
        "resource": _issuer(client) + "/seal",
    }
    with pytest.raises(UnauthorizedClient):
        rfc8693.grant(idp, client=spa, form=form)


def _end_period(idp: IdentityProvider, authorisation_id: str) -> None:
    """The authorisation's period ends (nothing has noticed it yet: no sweep ran)."""
    with idp.database.transaction() as session:
        found = repository.agent_authorisation(session, authorisation_id)
        assert found is not None
        found.valid_until = datetime.now(UTC) - timedelta(seconds=1)


def test_a_code_or_token_of_an_ended_authorisation_acts_for_nobody(
    client: TestClient, world: dict[str, Any]
) -> None:
    from idp import grants as idp_grants

    _allow(client)
    idp: IdentityProvider = world["idp"]
    agent = agents.CHOICE_PREFIX + world["authorisation_id"]
    subject = _person_token(client, organisation=agent)
    browser = TestClient(client.app, base_url=str(client.base_url))
    request = oidc.Request(client_id="permits", scope="openid profile")
    callback = oidc.sign_in(browser, request, organisation=agent)
    _end_period(idp, world["authorisation_id"])
    # The exchange refuses instead of issuing a token acting for the person themselves.
    refused = _exchange(client, subject)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert "agent authorisation" in refused.json()["error_description"]
    # So does the code issued under it; its grant is revoked.
    redeemed = oidc.redeem(client, request, callback["code"])
    assert redeemed.status_code == 400, redeemed.text
    assert redeemed.json()["error"] == "invalid_grant"
    with idp.database.reading() as session:
        user = repository.user_by_login(session, "zhangsan")
        assert user is not None
        under = [
            g
            for g in idp_grants.of_user(session, user.id)
            if g.context.get(agents.CONTEXT_KEY) == world["authorisation_id"]
        ]
        assert len(under) == 1  # the subject token's grant; the code's is revoked
        revoked = session.scalars(
            select(AuditEntry.leaf).where(AuditEntry.type == "grant.revoked")
        ).all()
    assert [json.loads(leaf)["details"]["reason"] for leaf in revoked] == ["agent-ended"]
