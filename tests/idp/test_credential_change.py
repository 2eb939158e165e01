"""What a credential change ends, both storage configurations: a password reset and an
administrator's reset of factors end every session and revoke every grant (offline access
too: the refresh token fails with ``invalid_grant``, the access token stops, the apps get a
back-channel logout); a password change keeps the session it was made in; a lowered
proofing level revokes exactly the grants above it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import factors as admin_factors
from admin import people as admin_people
from admin import proofing as admin_proofing
from audit.models import AuditEntry
from idp import assurance, credential_change, grants, self_service
from idp.models import Grant
from tests import oidc, receiver, sms_provider
from tests.admin import world as w
from tests.idp import sms_world
from tests.idp.sms_world import PHONE, add_phone_person, browser, form, idp_of

sms, make_app, app = sms_world.sms, sms_world.make_app, sms_world.app  # the fixtures
NEW_PASSWORD = "a brand new passphrase"
APP = "mail"


@pytest.fixture
def logouts(app: TestClient) -> Iterator[list[dict[str, str]]]:
    """Back-channel logout tokens the app :data:`APP` receives (registered with it)."""
    with receiver.receiver() as (url, received):
        oidc.add_rp(oidc.domain_of(app), APP, first_party=True, backchannel=url)
        yield received


def _tokens(client: TestClient, login: str, *, scope: str, level: int = 0) -> dict[str, Any]:
    """A fresh browser signs ``login`` in to :data:`APP` (at ``level``, when given); the
    token response, with the browser's session id."""
    extra = {"acr_values": assurance.acr(level)} if level else {}
    request = oidc.Request(client_id=APP, scope=scope, extra=extra)
    callback = oidc.sign_in(browser(client), request, login=login)
    response = oidc.redeem(client, request, callback["code"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body["sid"] = oidc.jwt_claims(body["id_token"])["sid"]
    return body


def _refresh(client: TestClient, token: str) -> Any:
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=oidc.basic(APP),
    )


def _refused(client: TestClient, tokens: dict[str, Any]) -> bool:
    refreshed = _refresh(client, tokens["refresh_token"])
    userinfo = client.get("/userinfo", headers=w.bearer(tokens["access_token"]))
    return (
        refreshed.status_code == 400
        and refreshed.json()["error"] == "invalid_grant"
        and userinfo.status_code == 401
    )


def _signed_out(client: TestClient) -> list[tuple[str, dict[str, Any]]]:
    with oidc.domain_of(client).keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == "account.signed_out")
        rows = session.scalars(query.order_by(AuditEntry.index))
        return [(e.actor, json.loads(bytes(e.leaf))["details"]) for e in rows]


def _reasons(client: TestClient, user_id: str) -> set[str | None]:
    with oidc.domain_of(client).keys.database.reading() as session:
        rows = session.scalars(select(Grant).where(Grant.user_id == user_id)).all()
        return {g.revoked_reason for g in rows}


def _wait(received: list[dict[str, str]], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) == count, received


def test_a_password_reset_ends_offline_access_and_every_session(
    app: TestClient, sms: sms_provider.Provider, logouts: list[dict[str, str]]
) -> None:
    user_id = add_phone_person(oidc.domain_of(app))
    offline = _tokens(app, "lisi", scope="openid offline_access")
    online = _tokens(app, "lisi", scope="openid profile")
    assert len(idp_of(app).sessions.of_user(user_id)) == 2
    # Before: both refresh tokens work (each use rotates the token).
    for tokens in (offline, online):
        refreshed = _refresh(app, tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        tokens.update(refreshed.json())

    other = browser(app)
    start = other.get("/reset")
    sent = other.post("/reset/send", data={**form(start.text, "/reset/send"), "phone": PHONE})
    proved = other.post(
        "/reset/code", data={**form(sent.text, "/reset/code"), "code": sms.code(PHONE)}
    )
    done = other.post("/reset", data={**form(proved.text, "/reset"), "password": NEW_PASSWORD})
    assert done.status_code == 200, done.text

    assert _refused(app, offline) and _refused(app, online)
    assert idp_of(app).sessions.of_user(user_id) == []
    assert _reasons(app, user_id) == {"password-reset"}
    [(actor, details)] = _signed_out(app)
    assert actor == user_id
    assert details == {
        "reason": "password-reset",
        "grants_ended": 2,
        "sessions_ended": 2,
        "apps_notified": 2,
    }
    _wait(logouts, 2)
    sids = {oidc.jwt_claims(r["logout_token"])["sid"] for r in logouts}
    assert sids == {offline["sid"], online["sid"]}


def test_a_password_change_keeps_this_session_and_ends_the_others(
    app: TestClient, logouts: list[dict[str, str]]
) -> None:
    idp = idp_of(app)
    user_id = add_phone_person(oidc.domain_of(app), verified=False)
    here = _tokens(app, "lisi", scope="openid offline_access")
    there = _tokens(app, "lisi", scope="openid offline_access")
    ended = self_service.set_password(
        idp,
        user_id=user_id,
        password=NEW_PASSWORD,
        reset=False,
        address="127.0.0.1",
        keep_sid=here["sid"],
    )
    assert ended is not None and ended.summary() == {"grants_ended": 1, "sessions_ended": 1}
    assert _refused(app, there)
    assert _refresh(app, here["refresh_token"]).status_code == 200
    assert [s.sid for _, s in idp.sessions.of_user(user_id)] == [here["sid"]]
    [(_, details)] = _signed_out(app)
    assert details["reason"] == "password-changed" and details["kept_current_session"] is True
    credential_change.deliver_now(idp, ended)  # the caller's part (a route: after its answer)
    _wait(logouts, 1)
    assert oidc.jwt_claims(logouts[0]["logout_token"])["sid"] == there["sid"]


def test_a_password_change_on_the_account_page_ends_the_other_devices_offline_access(
    app: TestClient, logouts: list[dict[str, str]]
) -> None:
    add_phone_person(oidc.domain_of(app), verified=False)  # a password is strong enough
    there = _tokens(app, "lisi", scope="openid offline_access")
    here = browser(app)
    oidc.sign_in(here, oidc.Request(), login="lisi")
    fields = form(here.get("/account").text, "/account/password")
    done = here.post(
        "/account/password",
        data={**fields, "current": oidc.PASSWORD, "password": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert _refused(app, there)
    assert here.get("/account").status_code == 200
    _wait(logouts, 1)  # after the answer
    assert oidc.jwt_claims(logouts[0]["logout_token"])["sid"] == there["sid"]


def test_a_reset_of_factors_signs_the_person_out_everywhere(
    app: TestClient, logouts: list[dict[str, str]]
) -> None:
    domain = oidc.domain_of(app)
    world = w.build(domain, identity=idp_of(app))
    user_id = world.actor(w.NOBODY).id
    first = _tokens(app, w.NOBODY, scope="openid offline_access")
    second = _tokens(app, w.NOBODY, scope="openid")
    done = admin_factors.reset_factors(
        world.admin, world.actor(w.SECURITY), ref=w.NOBODY, reason="passport seen at the counter"
    )
    assert done["signed_out"] == {"grants_ended": 2, "sessions_ended": 2}
    assert _refused(app, first) and _refused(app, second)
    assert idp_of(app).sessions.of_user(user_id) == []
    assert _reasons(app, user_id) == {"factors-reset"}
    [(actor, details)] = _signed_out(app)
    assert actor == f"person:{w.SECURITY}" and details["reason"] == "factors-reset"
    _wait(logouts, 2)  # posted before the act returned


@pytest.mark.parametrize("act", ["lock", "disable"])
def test_locking_or_disabling_signs_the_person_out_everywhere_at_once(
    app: TestClient, logouts: list[dict[str, str]], act: str
) -> None:
    world = w.build(oidc.domain_of(app), identity=idp_of(app))
    user_id = world.actor(w.NOBODY).id
    tokens = _tokens(app, w.NOBODY, scope="openid offline_access")
    if act == "lock":
        admin_people.lock(
            world.admin, world.actor(w.SECURITY), ref=w.NOBODY, locked=True, reason="stolen"
        )
    else:
        admin_people.update(
            world.admin,
            world.actor(w.SYSTEM),
            ref=w.NOBODY,
            if_match=None,
            changes={"disabled": True},
        )
    assert _refused(app, tokens)
    assert idp_of(app).sessions.of_user(user_id) == []
    reason = "account-locked" if act == "lock" else "disabled"
    assert _reasons(app, user_id) == {reason}
    [(_, details)] = _signed_out(app)
    assert details["reason"] == reason and details["grants_ended"] == 1
    _wait(logouts, 1)


def test_a_lowered_level_revokes_the_grants_above_it(
    app: TestClient, logouts: list[dict[str, str]]
) -> None:
    domain = oidc.domain_of(app)
    world = w.build(domain, identity=idp_of(app))
    # Proofed at 4 with a second factor: this sign-in reaches level 3.
    user_id = oidc.add_person(domain, "wangwu", proofing_level=4, second_factor=True)
    strong = _tokens(app, "wangwu", scope="openid offline_access", level=3)
    assert oidc.jwt_claims(strong["id_token"])["acr"] == assurance.acr(3)
    with idp_of(app).database.transaction() as session:  # older grants: at level 2, unknown
        weak_id = grants.create(
            session,
            grant_id="f" * 32,
            client_id=APP,
            user_id=user_id,
            sid="elsewhere",
            scopes=["openid"],
            context={"auth_time": 0, "acr": assurance.acr(2), "amr": ["pwd"]},
        ).id
        unknown_id = grants.create(
            session,
            grant_id="e" * 32,
            client_id=APP,
            user_id=user_id,
            sid="elsewhere",
            scopes=["openid"],
            context={"auth_time": 0},
        ).id
    # Lowering to 3 leaves both known ones: their acr still tells the truth; a grant whose
    # level cannot be told counts as above.
    admin_proofing.lower_level(
        world.admin, world.actor(w.SECURITY), ref="wangwu", level=3, reason="ok", if_match=None
    )
    refreshed = _refresh(app, strong["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    strong.update(refreshed.json())
    with idp_of(app).database.reading() as session:
        assert grants.active(session, unknown_id) is None
    admin_proofing.lower_level(
        world.admin,
        world.actor(w.SECURITY),
        ref="wangwu",
        level=2,
        reason="冒用投诉",
        if_match=None,
    )
    with idp_of(app).database.reading() as session:
        assert grants.active(session, weak_id) is not None
        assert [g.id for g in grants.of_user(session, user_id)] == [weak_id]
    refused = _refresh(app, strong["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # The SSO session goes on; the app is told to drop what it built on level 3.
    assert len(idp_of(app).sessions.of_user(user_id)) == 1
    details = [d for _, d in _signed_out(app)]
    assert details == [
        {
            "reason": "proofing-lowered",
            "grants_ended": 1,
            "sessions_ended": 0,
            "apps_notified": 0,
            "above_level": 3,
        },
        {
            "reason": "proofing-lowered",
            "grants_ended": 1,
            "sessions_ended": 0,
            "apps_notified": 1,
            "above_level": 2,
        },
    ]
    _wait(logouts, 1)
    assert oidc.jwt_claims(logouts[0]["logout_token"])["sid"] == strong["sid"]


def test_nothing_ends_when_the_transaction_fails(
    app: TestClient, logouts: list[dict[str, str]]
) -> None:
    idp = idp_of(app)
    user_id = add_phone_person(oidc.domain_of(app), verified=False)
    tokens = _tokens(app, "lisi", scope="openid offline_access")

    def failing_act() -> None:
        with idp.database.transaction() as session:
            credential_change.credentials_changed(
                session, idp, user_id=user_id, reason="password-reset", actor=user_id
            )
            raise RuntimeError("the act failed after preparing")

    with pytest.raises(RuntimeError):
        failing_act()
    assert _refresh(app, tokens["refresh_token"]).status_code == 200
    assert len(idp.sessions.of_user(user_id)) == 1
    assert _signed_out(app) == [] and logouts == []
