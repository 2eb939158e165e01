"""Personal information over HTTP, both storage configurations (个人信息保护法): the sign-in
history on the account page, its purge by age, the download of one's data, deleting one's
account (refusals, the grace period, the purge) and withdrawing consent to an app."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp import account_deletion, assurance, retention
from idp.models import (
    Authenticator,
    Consent,
    Membership,
    PlatformRole,
    RecoveryCode,
    SignInRecord,
    User,
)
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from tests import oidc
from tests.oidc import location
from tests.receiver import receiver

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
NATIONAL_ID = "11010519491231002X"


def _idp(client: TestClient) -> IdentityProvider:
    found: IdentityProvider = runtime_of(client.app).get(IdentityProvider)  # type: ignore[arg-type]
    return found


def _events(client: TestClient, kind: str) -> list[AuditEntry]:
    with oidc.domain_of(client).keys.database.reading() as session:
        query_ = select(AuditEntry).where(AuditEntry.type == kind).order_by(AuditEntry.index)
        return list(session.scalars(query_))


def _user_id(client: TestClient, username: str) -> str:
    with oidc.domain_of(client).keys.database.reading() as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def _csrf(client: TestClient) -> str:
    page = client.get("/account")
    assert page.status_code == 200, page.text[:300]
    return oidc.hidden(page.text, "csrf_token")


def _purge(client: TestClient, *, now: datetime) -> retention.Purged:
    domain = oidc.domain_of(client)
    return retention.purge(
        database=domain.keys.database,
        events=domain.audit,
        settings=_idp(client).settings,
        actor="test",
        now=now,
    )


@pytest.fixture
def rp(client: TestClient) -> TestClient:
    """A first-party app (refresh tokens) and two people: ``zhangsan`` (password only, with
    an identity number) and ``strong`` (with TOTP)."""
    domain = oidc.domain_of(client)
    from idp import accounts

    with domain.keys.database.transaction() as session:
        accounts.create_user(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            username="zhangsan",
            display_name="张三",
            actor="test",
            password=oidc.PASSWORD,
            email="zhangsan@example.cn",
            national_id=NATIONAL_ID,
            proofing_level=2,
        )
    oidc.add_person(domain, "strong", name="强", proofing_level=4, second_factor=True)
    oidc.add_rp(domain, first_party=True)
    return client


def test_history_lists_sign_ins_and_step_ups_in_words(rp: TestClient) -> None:
    rp.headers["user-agent"] = CHROME
    oidc.sign_in(rp, oidc.Request(), login="strong")
    oidc.sign_in(rp, oidc.Request(extra={"acr_values": assurance.acr(3)}))  # steps up: TOTP
    page = rp.get("/account?lang=zh-CN")
    assert "最近的登录记录" in page.text
    assert "加强验证 · 密码、动态码 · 3 级" in page.text
    assert "登录 · 密码 · 2 级" in page.text
    assert "Chrome 131 · Windows · testclient" in page.text
    assert "北京时间（UTC+8）" in page.text
    assert "保留 180 天" in page.text
    english = rp.get("/account?lang=en")
    assert "Stronger sign-in · password, authenticator code · level 3" in english.text
    assert "Beijing time (UTC+8)" in english.text


def test_purge_removes_history_past_retention_only(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request())
    browser = TestClient(rp.app, base_url=str(rp.base_url))
    oidc.sign_in(browser, oidc.Request())
    user_id = _user_id(rp, "zhangsan")
    database = oidc.domain_of(rp).keys.database
    with database.transaction() as session:
        oldest = session.scalars(select(SignInRecord).where(SignInRecord.user_id == user_id)).all()
        assert len(oldest) == 2
        old_id = oldest[0].id
        session.execute(
            update(SignInRecord)
            .where(SignInRecord.id == old_id)
            .values(at=datetime.now(UTC) - timedelta(days=181))
        )
    purged = _purge(rp, now=datetime.now(UTC))
    assert purged == retention.Purged(sign_ins=1, accounts=0)
    with database.reading() as session:
        left = session.scalars(select(SignInRecord.id)).all()
    assert old_id not in left and len(left) == 1
    assert _purge(rp, now=datetime.now(UTC)).sign_ins == 0  # idempotent
    page = rp.get("/account")
    assert page.text.count("登录 · 密码") == 1


def test_export_is_an_attachment_without_secrets(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request())
    response = rp.post("/account/export", data={"csrf_token": _csrf(rp)})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["profile"]["username"] == "zhangsan"
    assert document["profile"]["email"] == "zhangsan@example.cn"
    assert document["profile"]["national_id"] == "110***********002X"
    assert NATIONAL_ID not in response.text
    assert document["proofing"]["level"] == 2
    assert document["password_set"] is True
    assert [app["client_id"] for app in document["connected_apps"]] == ["permits"]
    assert document["sign_ins"][0]["methods"] == ["pwd"]
    assert len(document["sessions"]) == 1
    with oidc.domain_of(rp).keys.database.reading() as session:
        user = session.scalar(select(User).where(User.username == "zhangsan"))
        assert user is not None
        for secret in (user.password_hash, user.national_id_digest):
            assert secret and secret not in response.text
    handle = next(c.value for c in rp.cookies.jar if c.name == SSO_COOKIE)
    assert handle not in response.text
    [event] = _events(rp, "account.exported")
    assert event.subject == user.id
    # Without the page's form token, nothing.
    assert rp.post("/account/export", data={"csrf_token": "x"}).url.path == "/account"


def test_export_lists_factors_without_their_secrets_and_needs_a_strong_session(
    rp: TestClient,
) -> None:
    oidc.sign_in(rp, oidc.Request(), login="strong")  # password only: not strong enough
    refused = rp.post("/account/export", data={"csrf_token": _csrf(rp)}, follow_redirects=False)
    assert location(refused) == "/account/verify?return_to=/account"
    assert _events(rp, "account.exported") == []
    oidc.sign_in(rp, oidc.Request(extra={"acr_values": assurance.acr(3)}))
    response = rp.post("/account/export", data={"csrf_token": _csrf(rp)})
    document = response.json()
    assert {f["kind"] for f in document["factors"]} == {"totp"}
    assert set(document["factors"][0]) == {"kind", "name", "created_at", "last_used_at"}
    with oidc.domain_of(rp).keys.database.reading() as session:
        sealed = session.scalars(select(Authenticator.secret_sealed)).all()
    for value in sealed:
        assert value is not None and value.hex() not in response.text
    assert "secret" not in response.text and "digest" not in response.text


def test_deletion_disables_at_once_and_purges_after_the_grace_period(rp: TestClient) -> None:
    request = oidc.Request(scope="openid profile offline_access")
    tokens = oidc.redeem(rp, request, oidc.sign_in(rp, request)["code"]).json()
    refresh = tokens["refresh_token"]
    other_browser = TestClient(rp.app, base_url=str(rp.base_url))
    oidc.sign_in(other_browser, oidc.Request())
    page = rp.get("/account/delete")
    assert page.status_code == 200
    assert "15 天后" in page.text
    csrf = oidc.hidden(page.text, "csrf_token")
    unconfirmed = rp.post("/account/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert location(unconfirmed) == "/account/delete"
    done = rp.post("/account/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 200
    assert "已申请注销" in done.text
    user_id = _user_id(rp, "zhangsan")
    idp = _idp(rp)
    assert idp.sessions.of_user(user_id) == []  # both browsers signed out
    assert "tx_sso" not in {c.name for c in rp.cookies.jar if c.value}
    assert other_browser.get("/account").status_code == 401
    again = rp.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        headers=oidc.basic("permits"),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    login = rp.get(oidc.Request().url(), follow_redirects=False)
    refused = oidc.submit_login(rp, rp.get(location(login)).text)
    assert refused.status_code not in (302, 303)  # a disabled account cannot sign in
    [event] = _events(rp, "account.deletion_requested")
    assert event.subject == user_id
    # Inside the grace period nothing is removed.
    now = datetime.now(UTC)
    assert _purge(rp, now=now + timedelta(days=14)).accounts == 0
    with oidc.domain_of(rp).keys.database.reading() as session:
        kept = session.get(User, user_id)
        assert kept is not None and kept.username == "zhangsan" and kept.disabled
    purged = _purge(rp, now=now + timedelta(days=16))
    assert purged.accounts == 1
    with oidc.domain_of(rp).keys.database.reading() as session:
        gone = session.get(User, user_id)
        assert gone is not None  # the id stays for the audit log's references
        assert gone.username == account_deletion.DELETED_PREFIX + user_id
        assert (gone.display_name, gone.email, gone.phone, gone.password_hash) == (
            "",
            None,
            None,
            None,
        )
        assert gone.national_id_sealed is None and gone.national_id_masked is None
        assert gone.national_id_digest is None and gone.deletion_requested_at is None
        for model in (SignInRecord, Consent, Membership, Authenticator, RecoveryCode):
            assert session.scalars(select(model).where(model.user_id == user_id)).all() == []
    [deleted] = _events(rp, "account.deleted")
    assert deleted.subject == user_id and deleted.actor == "test"
    assert _purge(rp, now=now + timedelta(days=17)).accounts == 0  # once only
    # The name is free again: someone new may take it.
    oidc.add_person(oidc.domain_of(rp), "zhangsan")


def test_deletion_needs_a_fresh_strong_session(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request(), login="strong")
    page = rp.get("/account/delete", follow_redirects=False)
    assert location(page) == "/account/verify?return_to=/account/delete"
    posted = rp.post(
        "/account/delete",
        data={"csrf_token": _csrf(rp), "confirm": "yes"},
        follow_redirects=False,
    )
    assert location(posted) == "/account/verify?return_to=/account/delete"
    assert _events(rp, "account.deletion_requested") == []
    # A strong sign-in that is no longer recent does not count either.
    oidc.sign_in(rp, oidc.Request(extra={"acr_values": assurance.acr(3)}))
    assert rp.get("/account/delete").status_code == 200
    handle = next(c.value for c in rp.cookies.jar if c.name == SSO_COOKIE)

    def older(s):  # type: ignore[no-untyped-def]
        s.auth_time = int(time.time()) - 16 * 60

    _idp(rp).sessions.update(handle, older)
    assert rp.get("/account/delete", follow_redirects=False).status_code == 303


def test_role_holders_and_last_admins_cannot_delete_themselves(rp: TestClient) -> None:
    domain = oidc.domain_of(rp)
    user_id = _user_id(rp, "zhangsan")
    with domain.keys.database.transaction() as session:
        session.add(
            PlatformRole(
                user_id=user_id,
                role="audit-admin",
                granted_by="test",
                created_at=datetime.now(UTC),
            )
        )
    oidc.sign_in(rp, oidc.Request())
    page = rp.get("/account/delete")
    assert "平台角色（audit-admin）" in page.text and "privacy-confirm" not in page.text
    posted = rp.post("/account/delete", data={"csrf_token": _csrf(rp), "confirm": "yes"})
    assert posted.status_code == 409
    with domain.keys.database.transaction() as session:
        session.execute(PlatformRole.__table__.delete())
    oidc.add_organisation(domain, member="zhangsan", role="admin")
    english = rp.get("/account/delete?lang=en")
    assert "only administrator of 某某科技有限公司" in english.text
    assert (
        rp.post("/account/delete", data={"csrf_token": _csrf(rp), "confirm": "yes"}).status_code
        == 409
    )
    with domain.keys.database.reading() as session:
        user = session.get(User, user_id)
        assert user is not None and not user.disabled and user.deletion_requested_at is None
    assert _events(rp, "account.deletion_requested") == []


def test_withdrawing_consent_revokes_tokens_and_signs_the_app_out(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    with receiver() as (uri, received):
        oidc.add_rp(domain, backchannel=uri)  # third party: asks for consent
        _idp(client).backchannel_delays = (0.0, 0.05)
        request = oidc.Request(scope="openid profile offline_access")
        tokens = oidc.redeem(client, request, oidc.sign_in(client, request)["code"]).json()
        page = client.get("/account")
        assert 'name="client_id" value="permits"' in page.text
        withdrawn = client.post(
            "/account/apps/withdraw",
            data={"csrf_token": oidc.hidden(page.text, "csrf_token"), "client_id": "permits"},
            follow_redirects=False,
        )
        assert location(withdrawn) == "/account"
        deadline = time.time() + 5
        while not received and time.time() < deadline:
            time.sleep(0.05)
    assert len(received) == 1
    assert oidc.jwt_claims(received[0]["logout_token"])["aud"] == "permits"
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=oidc.basic("permits"),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    userinfo = client.get(
        "/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401
    with domain.keys.database.reading() as session:
        assert session.scalars(select(Consent)).all() == []
    [event] = _events(client, "consent.withdrawn")
    details = json.loads(event.leaf)["details"]
    assert details["client_id"] == "permits" and details["grants_ended"] == 1
    # The person is still signed in, the app is no longer listed and asks for consent again.
    account = client.get("/account")
    assert account.status_code == 200 and "App permits" not in account.text
    again = client.get(oidc.Request().url(), follow_redirects=False)
    assert location(again).startswith("/consent?")
    # Nothing with an app: nothing happens.
    page = client.get("/account")
    client.post(
        "/account/apps/withdraw",
        data={"csrf_token": oidc.hidden(page.text, "csrf_token"), "client_id": "unknown"},
    )
    assert len(_events(client, "consent.withdrawn")) == 1


def test_a_cancelled_or_re_enabled_deletion_is_not_purged(rp: TestClient) -> None:
    domain = oidc.domain_of(rp)
    user_id = _user_id(rp, "zhangsan")
    asked = datetime.now(UTC) - timedelta(days=20)
    with domain.keys.database.transaction() as session:
        outcome = account_deletion.request(
            session, events=domain.audit, user_id=user_id, grace_days=15, now=asked
        )
        assert isinstance(outcome, account_deletion.Requested)
        assert outcome.purge_after == asked + timedelta(days=15)
    with domain.keys.database.transaction() as session:
        assert account_deletion.cancel(
            session, events=domain.audit, user_id=user_id, actor="secadmin"
        )
        assert not account_deletion.cancel(
            session, events=domain.audit, user_id=user_id, actor="secadmin"
        )
    assert _purge(rp, now=datetime.now(UTC)).accounts == 0
    oidc.sign_in(rp, oidc.Request())  # enabled again
    with domain.keys.database.transaction() as session:
        account_deletion.request(
            session, events=domain.audit, user_id=user_id, grace_days=15, now=asked
        )
        user = session.get(User, user_id)
        assert user is not None
        user.disabled = False  # an administrator's "enable", not a cancellation
    assert _purge(rp, now=datetime.now(UTC)).accounts == 0
    assert [e.actor for e in _events(rp, "account.deletion_cancelled")] == ["secadmin"]
