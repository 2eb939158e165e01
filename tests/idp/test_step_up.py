"""Levels of assurance and step-up over HTTP: a session weaker than a request asks is sent
to the factor page for only what is missing, and what cannot be reached is refused with the
error the specs define; both storage configurations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from idp import assurance
from tests import factors, oidc
from tests.oidc import location, query

LOA = assurance.acr


@pytest.fixture
def rp(client: TestClient) -> TestClient:
    """A first-party app and three people: proofed at 4 with TOTP, proofed at 4 without a
    second factor, proofed at 1 with TOTP."""
    domain = oidc.domain_of(client)
    oidc.add_person(domain, "strong", proofing_level=4, second_factor=True)
    oidc.add_person(domain, "nofactor", proofing_level=4)
    oidc.add_person(domain, "selfdeclared", proofing_level=1, second_factor=True)
    oidc.add_rp(domain, first_party=True)
    return client


def _claims(client: TestClient, request: oidc.Request, callback: dict[str, str]) -> dict:
    tokens = oidc.redeem(client, request, callback["code"])
    assert tokens.status_code == 200, tokens.text
    return oidc.jwt_claims(tokens.json()["id_token"])


def _sign_in_password(client: TestClient, request: oidc.Request, login: str):
    response = client.get(request.url(), follow_redirects=False)
    page = client.get(location(response))
    return oidc.submit_login(client, page.text, login=login)


def test_password_session_is_level_2_then_steps_up_to_3_with_totp_only(rp: TestClient) -> None:
    first = oidc.Request()
    assert _claims(rp, first, oidc.sign_in(rp, first, login="strong"))["acr"] == LOA(2)
    # Same browser, the app now asks for level 3: the factor page, not the password page.
    higher = oidc.Request(extra={"acr_values": LOA(3)})
    response = rp.get(higher.url(), follow_redirects=False)
    assert location(response).startswith("/login/factor?")
    page = rp.get(location(response))
    assert page.status_code == 200
    assert 'action="/login/factor/totp"' in page.text
    assert 'name="password"' not in page.text  # the password is not asked again
    final = oidc.follow_to_rp(rp, response)
    claims = _claims(rp, higher, query(final))
    assert claims["acr"] == LOA(3)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # The stronger session now serves a level-3 request without asking anything.
    again = oidc.Request(extra={"acr_values": LOA(3)})
    direct = rp.get(again.url(), follow_redirects=False)
    assert query(location(direct))["code"]


def _records(rp: TestClient, login: str) -> tuple[list[dict], list[dict], list[str], int]:
    """The person's ``login.succeeded`` and ``login.step_up`` event details, the kinds of
    their history lines, and how many TOTP steps they spent."""
    from idp import repository
    from idp.models import Authenticator, SignInRecord

    with oidc.domain_of(rp).keys.database.reading() as session:
        person = repository.user_by_login(session, login)
        assert person is not None
        user_id = person.id

        def details(kind: str) -> list[dict]:
            query = select(AuditEntry).where(AuditEntry.type == kind, AuditEntry.subject == user_id)
            return [json.loads(e.leaf)["details"] for e in session.scalars(query)]

        kinds = list(
            session.scalars(select(SignInRecord.kind).where(SignInRecord.user_id == user_id))
        )
        spent = session.scalars(
            select(Authenticator.last_step).where(
                Authenticator.user_id == user_id, Authenticator.last_step.is_not(None)
            )
        ).all()
    return details("login.succeeded"), details("login.step_up"), sorted(kinds), len(spent)


def test_a_totp_step_up_commits_with_its_history_line_and_audit_event(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request(), login="strong")  # a level-2 session first
    request = oidc.Request(extra={"acr_values": LOA(3)})
    final = oidc.follow_to_rp(rp, rp.get(request.url(), follow_redirects=False))
    assert _claims(rp, request, query(final))["acr"] == LOA(3)
    _, step_ups, kinds, spent = _records(rp, "strong")
    assert [d["method"] for d in step_ups] == ["totp"] and step_ups[0]["acr"] == LOA(3)
    assert kinds == ["sign-in", "step-up"]
    assert spent == 1  # the code's step is spent, in the same commit


def test_a_sign_in_asked_for_two_factors_opens_its_session_after_the_second(
    rp: TestClient,
) -> None:
    """The password waits in the interaction: no session until the TOTP code, then one
    sign-in with both methods (one history line, one event), not a sign-in and a step-up."""
    from idp.sessions import COOKIE

    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "strong")
    assert location(response).startswith("/login/factor?")
    assert COOKIE not in rp.cookies  # nothing for another app to use yet
    assert _records(rp, "strong")[0] == []
    # An app asking for level 2 meanwhile finds nobody signed in.
    weaker = rp.get(oidc.Request().url(), follow_redirects=False)
    assert location(weaker).startswith("/login?")
    final = oidc.follow_to_rp(rp, response)
    claims = _claims(rp, request, query(final))
    assert claims["acr"] == LOA(3) and claims["amr"] == ["pwd", "otp", "mfa"]
    signed_in, step_ups, kinds, spent = _records(rp, "strong")
    assert [d["amr"] for d in signed_in] == [["pwd", "otp", "mfa"]] and step_ups == []
    # The person's history shows the right password at once, then the sign-in.
    assert kinds == ["first-factor", "sign-in"] and spent == 1
    assert COOKIE in rp.cookies
    # The session serves a later level-3 request without asking anything.
    again = oidc.Request(extra={"acr_values": LOA(3)})
    assert query(location(rp.get(again.url(), follow_redirects=False)))["code"]


def test_a_held_password_does_not_survive_a_password_change(rp: TestClient) -> None:
    from idp import accounts

    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "strong")
    page = rp.get(location(response))
    domain = oidc.domain_of(rp)
    with domain.keys.database.transaction() as session:
        person = accounts.set_password(
            session,
            events=domain.audit,
            login="strong",
            password="a brand new password 2026",
            actor="test",
        )
        user_id = person.id
    answer = rp.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": factors.next_code(user_id),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 400  # this sign-in has expired
    from idp.sessions import COOKIE

    assert COOKIE not in rp.cookies
    assert _records(rp, "strong")[0] == []


def test_a_held_password_completes_once_and_only_with_another_factor(rp: TestClient) -> None:
    from idp import first_factor, repository
    from idp.sessions import COOKIE
    from tests.idp.sms_world import idp_of

    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "strong")
    page = rp.get(location(response))
    form = {
        "interaction": oidc.hidden(page.text, "interaction"),
        "csrf_token": oidc.hidden(page.text, "csrf_token"),
    }
    # The password again is not a second factor: refused, nothing opened.
    again = rp.post(
        "/login/factor/password",
        data={**form, "password": oidc.PASSWORD},
        follow_redirects=False,
    )
    assert again.status_code == 400
    assert COOKIE not in rp.cookies and _records(rp, "strong")[0] == []
    # Two second factors completing the same hold at once open one session.
    response = _sign_in_password(rp, request, "strong")
    page = rp.get(location(response))
    form = {"interaction": oidc.hidden(page.text, "interaction")}
    idp = idp_of(rp)
    cookies = {c.name: c.value for c in rp.cookies.jar}
    from core.csrf import BROWSER_COOKIE

    found = idp.interactions.get(form["interaction"], browser=cookies[BROWSER_COOKIE])
    assert found is not None
    held = first_factor.held(found)
    assert held is not None
    opened = [
        first_factor.complete(
            idp, found, held, method=m, address="127.0.0.1", user_agent="t", handle=None
        )
        for m in ("totp", "sms")
    ]
    assert opened[0] is not None and opened[1] is None
    assert len(_records(rp, "strong")[0]) == 1
    with idp.database.reading() as session:
        assert repository.user_by_login(session, "strong") is not None


def test_a_held_password_expires(rp: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from idp import first_factor

    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "strong")
    page = rp.get(location(response))
    assert page.status_code == 200
    monkeypatch.setattr(first_factor, "HOLD_SECONDS", -1)
    again = rp.get(location(response), follow_redirects=False)
    assert again.status_code == 400


def test_a_step_up_whose_records_fail_leaves_the_session_as_it_was(rp: TestClient) -> None:
    """The history line and the audit event commit before the session gets the method: a
    step-up is never in effect without its records."""
    from idp import repository, step_up
    from idp.sessions import COOKIE
    from tests.idp.sms_world import idp_of

    oidc.sign_in(rp, oidc.Request(), login="strong")
    idp, handle = idp_of(rp), rp.cookies[COOKIE]
    with idp.database.reading() as session:
        user = repository.user_by_login(session, "strong")
    assert user is not None
    with pytest.raises(TypeError):  # the audit event's details cannot be serialised
        step_up.add_method(
            idp,
            handle=handle,
            user=user,
            method="totp",
            address="127.0.0.1",
            user_agent="test",
            details={"unserialisable": object()},
        )
    stored = idp.sessions.get(handle)
    assert stored is not None and stored.methods == ["pwd"] and stored.acr == LOA(2)
    with idp.database.reading() as session:
        kinds = session.scalars(select(AuditEntry.type)).all()
    assert "login.step_up" not in kinds


def test_the_factor_page_is_decided_again_when_the_session_changed(rp: TestClient) -> None:
    # The page shows the need the sign-in's decision kept, but only for that session as it
    # was: stepped up meanwhile (another tab), the request goes on without asking again.
    oidc.sign_in(rp, oidc.Request(), login="strong")
    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = rp.get(request.url(), follow_redirects=False)
    factor = location(response)
    assert factor.startswith("/login/factor?")
    other = oidc.Request(extra={"acr_values": LOA(3)})
    oidc.follow_to_rp(rp, rp.get(other.url(), follow_redirects=False))
    again = rp.get(factor, follow_redirects=False)
    assert again.status_code == 302
    assert query(location(again))["code"]


def test_a_wrong_totp_code_is_refused_and_audited(rp: TestClient) -> None:
    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "strong")
    assert location(response).startswith("/login/factor?")
    page = rp.get(location(response))
    bad = rp.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": "12345",
        },
        follow_redirects=False,
    )
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text
    domain = oidc.domain_of(rp)
    with domain.keys.database.reading() as session:
        types = [e.type for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))]
    assert "login.factor_failed" in types


def test_unreachable_levels_give_unmet_authentication_requirements(rp: TestClient) -> None:
    # No second factor enrolled: level 3 cannot be reached.
    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(rp, request, "nofactor")
    answer = query(location(response))
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == request.state
    # A self-declared name never reaches 3, however strong the sign-in.
    browser = TestClient(rp.app, base_url=str(rp.base_url))
    request = oidc.Request(extra={"acr_values": LOA(3)})
    response = _sign_in_password(browser, request, "selfdeclared")
    answer = query(location(response))
    assert answer["error"] == "unmet_authentication_requirements"
    assert "real name" in answer["error_description"]


def test_prompt_none_needing_a_factor_is_interaction_required(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request(), login="strong")
    request = oidc.Request(extra={"acr_values": LOA(3), "prompt": "none"})
    answer = query(location(rp.get(request.url(), follow_redirects=False)))
    assert answer["error"] == "interaction_required"


def test_essential_acr_claim_and_bad_claims(rp: TestClient) -> None:
    claims = {"id_token": {"acr": {"essential": True, "values": [LOA(3), LOA(4)]}}}
    request = oidc.Request(extra={"claims": json.dumps(claims)})
    response = _sign_in_password(rp, request, "strong")
    assert location(response).startswith("/login/factor?")
    oidc.follow_to_rp(rp, response)  # signed in: the requests below are decided at once
    bad = oidc.Request(extra={"claims": "{not json"})
    answer = query(location(rp.get(bad.url(), follow_redirects=False)))
    assert answer["error"] == "invalid_request"
    unknown = {"id_token": {"acr": {"essential": True, "value": "urn:other:gold"}}}
    request = oidc.Request(extra={"claims": json.dumps(unknown)})
    answer = query(location(rp.get(request.url(), follow_redirects=False)))
    assert answer["error"] == "unmet_authentication_requirements"


def test_level_4_needs_a_passkey(rp: TestClient) -> None:
    request = oidc.Request(extra={"acr_values": LOA(4)})
    response = _sign_in_password(rp, request, "strong")  # TOTP only: 4 is out of reach
    assert query(location(response))["error"] == "unmet_authentication_requirements"


def test_client_minimum_level(rp: TestClient) -> None:
    domain = oidc.domain_of(rp)
    from idp.models import Client

    with domain.keys.database.transaction() as session:
        session.get(Client, "permits").min_level = 3
    request = oidc.Request()
    response = _sign_in_password(rp, request, "strong")
    assert location(response).startswith("/login/factor?")


def test_account_verify_asks_a_fresh_factor_and_returns(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request(), login="strong")
    started = rp.get("/account/verify?return_to=/account", follow_redirects=False)
    assert started.status_code in (302, 303)
    page = rp.get(location(started))
    assert 'action="/login/factor/totp"' in page.text
    final = rp.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": factors.next_code(
                oidc._signing_user(rp, oidc.hidden(page.text, "interaction"))
            ),
        },
        follow_redirects=False,
    )
    assert location(final) == "/account"
    assert rp.get("/account/verify?return_to=https://evil.example/").status_code == 400


def test_strength_rules() -> None:
    assert assurance.strength([]) == 1
    assert assurance.strength(["pwd"]) == 2
    assert assurance.strength(["totp", "sms"]) == 2  # two of one kind are one factor
    assert assurance.strength(["pwd", "totp"]) == 3
    assert assurance.strength(["passkey-uv"]) == 3
    assert assurance.strength(["pwd", "passkey"]) == 3
    assert assurance.strength(["pwd", "passkey-uv"]) == 4
    assert assurance.level(proofing_level=2, methods=["pwd", "passkey-uv"]) == 2
    assert assurance.amr(["pwd", "passkey-uv"]) == ["pwd", "hwk", "user", "mfa"]
    need = assurance.requirement(
        acr_values=[LOA(4), LOA(2), "urn:unknown"], claims=None, client_min_level=3
    )
    assert need.level == 3


def test_enrolled_methods(domain: Any) -> None:
    from idp import recovery_codes, repository, step_up, totp

    user_id = oidc.add_person(domain, "enrolled")

    def methods() -> set[str]:
        with domain.keys.database.reading() as session:
            user = repository.user(session, user_id)
            assert user is not None
            return step_up.enrolled(session, user)

    assert methods() == {"pwd"}
    with domain.keys.database.transaction() as session:
        totp.add(session, data_keys=domain.data_keys, user_id=user_id, secret=b"s" * 20, name="a")
        codes = recovery_codes.generate(
            session, data_keys=domain.data_keys, events=domain.audit, user_id=user_id, actor="t"
        )
    assert methods() == {"pwd", "totp", "recovery"}
    with domain.keys.database.transaction() as session:
        for code in codes:
            assert recovery_codes.use(
                session, data_keys=domain.data_keys, user_id=user_id, code=code
            )
    assert methods() == {"pwd", "totp"}  # every recovery code spent


def test_a_session_that_reaches_the_level_reads_no_enrolled_methods(rp: TestClient) -> None:
    """``step_up.short_of`` is ``need`` with the person's enrolled methods, read only when the
    session falls short (the usual sign-in costs no query for them)."""
    from sqlalchemy import event

    from idp import repository, step_up

    domain = oidc.domain_of(rp)
    oidc.add_person(domain, "wangwu", proofing_level=4, second_factor=True)
    database = domain.keys.database
    statements: list[str] = []

    def note(_c: object, _cu: object, statement: str, *_: object) -> None:
        statements.append(statement)

    with database.reading() as session:
        user = repository.user_by_login(session, "wangwu")
        assert user is not None
        event.listen(database.engine, "before_cursor_execute", note)
        try:
            assert step_up.short_of(session, user=user, methods=["pwd"], target=2) is None
            assert statements == []
            short = step_up.short_of(session, user=user, methods=["pwd"], target=3)
            assert statements  # falling short: the enrolled methods were read
        finally:
            event.remove(database.engine, "before_cursor_execute", note)
        assert short == step_up.need(
            user=user, methods=["pwd"], target=3, available=step_up.enrolled(session, user)
        )
        assert short is not None and short.reachable and "totp" in short.options
