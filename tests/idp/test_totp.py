"""TOTP: the RFC 6238 test vectors, the ±1 step window, replay refused (also across two app
processes sharing the database), and enrolment, rename and removal on the account page over
HTTP — a recent strong sign-in required, the secret gone from the page once confirmed — in
both storage configurations."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from core.settings import Settings
from idp import factors as idp_factors
from idp import totp
from idp.models import Authenticator, RecoveryCode
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from tests import factors, oidc
from tests.oidc import location
from tongxing.app import create_app

SHA1_SEED = b"12345678901234567890"
SHA256_SEED = b"12345678901234567890123456789012"
SHA512_SEED = b"1234567890123456789012345678901234567890123456789012345678901234"
# RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits, 30-second steps.
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("moment", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc_6238_appendix_b(moment: int, sha1: str, sha256: str, sha512: str) -> None:
    step = totp.step_of(moment)
    assert totp.code_at(SHA1_SEED, step, digits=8) == sha1
    assert totp.code_at(SHA256_SEED, step, digits=8, digest="sha256") == sha256
    assert totp.code_at(SHA512_SEED, step, digits=8, digest="sha512") == sha512


def test_one_step_either_way_and_no_further() -> None:
    now = 1_700_000_015.0
    current = totp.step_of(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(SHA1_SEED, current + offset)
        assert totp.matching_step(SHA1_SEED, code, now=now, after=None) == current + offset
    for offset in (-2, 2):
        code = totp.code_at(SHA1_SEED, current + offset)
        assert totp.matching_step(SHA1_SEED, code, now=now, after=None) is None
    code = totp.code_at(SHA1_SEED, current)
    assert totp.matching_step(SHA1_SEED, code, now=now, after=current) is None  # spent
    assert totp.matching_step(SHA1_SEED, "12345", now=now, after=None) is None
    assert totp.matching_step(SHA1_SEED, "abcdef", now=now, after=None) is None


def test_a_code_is_accepted_once(domain: Any) -> None:
    user_id = oidc.add_person(domain)
    with domain.keys.database.transaction() as session:
        totp.add(session, data_keys=domain.data_keys, user_id=user_id, secret=SHA1_SEED, name="a")
    code = totp.code_at(SHA1_SEED, totp.step_of(time.time()))
    with domain.keys.database.transaction() as session:
        first = totp.verify(session, data_keys=domain.data_keys, user_id=user_id, code=code)
    with domain.keys.database.transaction() as session:
        again = totp.verify(session, data_keys=domain.data_keys, user_id=user_id, code=code)
    assert first is not None and again is None
    with domain.keys.database.reading() as session:
        stored = session.scalars(select(Authenticator)).one()
        assert SHA1_SEED not in (stored.secret_sealed or b"")  # sealed, never in clear


# --- over HTTP ---------------------------------------------------------------------------------


def _idp(client: TestClient) -> IdentityProvider:
    found: IdentityProvider = runtime_of(client.app).get(IdentityProvider)  # type: ignore[arg-type]
    return found


def _handle(browser: TestClient) -> str:
    return next(c.value for c in browser.cookies.jar if c.name == SSO_COOKIE)


def _csrf(html: str, action: str) -> str:
    form = re.search(
        rf'action="{re.escape(action)}".*?name="csrf_token" value="([^"]+)"', html, re.S
    )
    assert form, f"no form posting to {action}"
    return form.group(1)


def _types(client: TestClient) -> list[str]:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        return [e.type for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))]


def _details(client: TestClient, type_: str) -> list[dict[str, Any]]:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return [json.loads(e.leaf)["details"] for e in session.scalars(query)]


def _authenticators(client: TestClient, user_id: str) -> list[Authenticator]:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        found = list(session.scalars(select(Authenticator).where(Authenticator.user_id == user_id)))
        session.expunge_all()
        return found


@pytest.fixture
def person(client: TestClient) -> str:
    """张三 (password only) signed in on ``client``; their user id."""
    domain = oidc.domain_of(client)
    user_id = oidc.add_person(domain)
    oidc.add_rp(domain, first_party=True)
    oidc.sign_in(client, oidc.Request())
    return user_id


def _start(client: TestClient) -> tuple[str, str]:
    """Start an enrolment on the account page: (the secret shown, the account page)."""
    page = client.get("/account")
    assert page.status_code == 200 and 'id="factors-none"' in page.text
    started = client.post(
        "/account/factors/totp/start",
        data={"csrf_token": _csrf(page.text, "/account/factors/totp/start")},
        follow_redirects=False,
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/account")
    shown = client.get("/account")
    assert 'src="data:image/svg+xml' in shown.text  # the QR code, inline
    secret = re.search(r'id="factors-secret">([A-Z2-7 ]+)<', shown.text)
    assert secret
    return secret.group(1), shown.text


def _decode(grouped: str) -> bytes:
    text = grouped.replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def test_enrolment_on_the_account_page(client: TestClient, person: str) -> None:
    grouped, page = _start(client)
    secret = _decode(grouped)
    assert len(secret) == totp.SECRET_BYTES
    # The secret is not in any cookie.
    assert all(grouped.replace(" ", "") not in (c.value or "") for c in client.cookies.jar)
    token = _csrf(page, "/account/factors/totp/confirm")
    step = totp.step_of(time.time())
    wrong = totp.code_at(secret, step + 5)
    refused = client.post(
        "/account/factors/totp/confirm",
        data={"csrf_token": token, "name": "手机", "code": wrong},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and "factors=wrong_code" in refused.headers["location"]
    assert _authenticators(client, person) == []
    assert "login.factor_failed" in _types(client)
    again = client.get(refused.headers["location"])
    assert 'id="factors-notice"' in again.text and 'id="factors-secret"' in again.text
    code = totp.code_at(secret, step)
    confirmed = client.post(
        "/account/factors/totp/confirm",
        data={"csrf_token": token, "name": "  我的\n手机  ", "code": code},
        follow_redirects=False,
    )
    # The first second factor: the recovery codes, once.
    assert confirmed.status_code == 200
    assert confirmed.headers["cache-control"] == "no-store"
    codes = re.findall(r"<li><code>([A-Z2-7]{5}-[A-Z2-7]{5})</code></li>", confirmed.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    [stored] = _authenticators(client, person)
    assert stored.kind == "totp" and stored.name == "我的 手机"
    assert stored.last_step == step  # the confirming code is spent
    after = client.get("/account")
    assert grouped not in after.text and grouped.replace(" ", "") not in after.text
    assert 'id="factors-secret"' not in after.text and "data:image/svg+xml" not in after.text
    assert "我的 手机" in after.text and 'data-recovery-left="10"' in after.text
    assert all(c not in after.text for c in codes)
    enrolled = _details(client, "factor.enrolled")
    assert enrolled[-1]["kind"] == "totp" and enrolled[-1]["confirmed"] is True
    assert _details(client, "recovery_codes.generated")[-1]["count"] == 10
    for entry in enrolled + _details(client, "recovery_codes.generated"):
        text = str(entry)
        assert grouped.replace(" ", "") not in text and all(c not in text for c in codes)
    # The confirming code cannot be used again, here or on the step-up page.
    with oidc.domain_of(client).keys.database.transaction() as session:
        assert (
            totp.verify(
                session, data_keys=oidc.domain_of(client).data_keys, user_id=person, code=code
            )
            is None
        )
    # Another change now needs the new factor too (two kinds in the session).
    late = client.post(
        "/account/factors/totp/confirm",
        data={"csrf_token": token, "name": "x", "code": code},
        follow_redirects=False,
    )
    assert late.headers["location"] == "/account/verify?return_to=/account"


def test_a_pending_secret_is_bound_to_the_session(client: TestClient, person: str) -> None:
    grouped, _ = _start(client)
    other = TestClient(client.app, base_url=str(client.base_url))
    oidc.sign_in(other, oidc.Request())
    page = other.get("/account")
    assert grouped not in page.text and 'id="factors-secret"' not in page.text
    idp = _idp(client)
    sid = idp.sessions.get(_handle(client)).sid  # type: ignore[union-attr]
    raw = idp.store.get(idp.store.key("idp", "totp-enrolment", sid))
    assert raw is not None and _decode(grouped) not in raw  # sealed in the store too
    ttl = idp.store.ttl(idp.store.key("idp", "totp-enrolment", sid))
    assert ttl is not None and 500 < ttl <= idp_factors.PENDING_SECONDS


def test_changes_need_a_recent_strong_sign_in(client: TestClient, person: str) -> None:
    idp = _idp(client)
    page = client.get("/account").text
    token = _csrf(page, "/account/factors/totp/start")
    # A sign-in older than the window: verify first.

    def age(s: Any) -> None:
        s.auth_time -= 3600

    idp.sessions.update(_handle(client), age)
    stale = client.post(
        "/account/factors/totp/start", data={"csrf_token": token}, follow_redirects=False
    )
    assert stale.status_code == 303
    assert stale.headers["location"] == "/account/verify?return_to=/account"
    # No CSRF token: refused outright.
    assert client.post("/account/factors/totp/start", data={}).status_code == 400


def test_with_a_second_factor_the_password_alone_is_not_enough(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    user_id = oidc.add_person(domain, second_factor=True)
    oidc.add_rp(domain, first_party=True)
    oidc.sign_in(client, oidc.Request())  # level 2 asked: the password alone
    page = client.get("/account").text
    assert page.count('class="factor-row"') == factors.AUTHENTICATORS
    first = _authenticators(client, user_id)[0]
    rename = f"/account/factors/{first.id}/rename"
    token = _csrf(page, rename)
    sent = client.post(rename, data={"csrf_token": token, "name": "新名字"}, follow_redirects=False)
    assert sent.headers["location"] == "/account/verify?return_to=/account"
    # Prove the second factor: then the change goes through.
    verify = client.get("/account/verify?return_to=/account", follow_redirects=False)
    factor_page = client.get(location(verify))
    done = client.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(factor_page.text, "interaction"),
            "csrf_token": oidc.hidden(factor_page.text, "csrf_token"),
            "code": factors.next_code(user_id),
        },
        follow_redirects=False,
    )
    assert location(done) == "/account"
    renamed = client.post(rename, data={"csrf_token": token, "name": "新名字"})
    assert renamed.status_code == 200 and "新名字" in renamed.text
    assert _details(client, "factor.renamed")[-1]["to"] == "新名字"
    removed = client.post(
        f"/account/factors/{first.id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert "factors=removed" in removed.headers["location"]
    assert len(_authenticators(client, user_id)) == factors.AUTHENTICATORS - 1
    assert _details(client, "factor.removed")[-1]["kind"] == "totp"


def test_rename_and_remove_only_ones_own(client: TestClient, person: str) -> None:
    domain = oidc.domain_of(client)
    other = oidc.add_person(domain, "lisi", second_factor=True)
    theirs = _authenticators(client, other)[0]
    token = _csrf(client.get("/account").text, "/account/factors/totp/start")
    for action in ("rename", "remove"):
        answer = client.post(
            f"/account/factors/{theirs.id}/{action}",
            data={"csrf_token": token, "name": "mine"},
            follow_redirects=False,
        )
        assert "factors=not_found" in answer.headers["location"]
    assert len(_authenticators(client, other)) == factors.AUTHENTICATORS
    assert _authenticators(client, other)[0].name == theirs.name


def test_removing_the_last_factor_says_what_it_means(client: TestClient, person: str) -> None:
    domain = oidc.domain_of(client)
    oidc.add_organisation(domain, member="zhangsan", role="admin")
    grouped, page = _start(client)
    secret = _decode(grouped)
    client.post(
        "/account/factors/totp/confirm",
        data={
            "csrf_token": _csrf(page, "/account/factors/totp/confirm"),
            "name": "phone",
            "code": totp.code_at(secret, totp.step_of(time.time())),
        },
    )
    english = client.get("/account?lang=en").text
    assert "only your password signs you in" in english
    assert "you cannot sign in to the console" in english  # an organisation administrator
    [authenticator] = _authenticators(client, person)
    # Removing it now needs two kinds of factor in the session (the person has a second).
    token = _csrf(english, f"/account/factors/{authenticator.id}/remove")
    answer = client.post(
        f"/account/factors/{authenticator.id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/account/verify?return_to=/account"


def test_replay_across_two_app_processes(
    client: TestClient, make_settings: Callable[..., Settings]
) -> None:
    """A code accepted by one app process is refused by another sharing the database."""
    domain = oidc.domain_of(client)
    user_id = oidc.add_person(domain, proofing_level=4)
    with domain.keys.database.transaction() as session:
        totp.add(session, data_keys=domain.data_keys, user_id=user_id, secret=SHA1_SEED, name="a")
    oidc.add_rp(domain, first_party=True)
    code = totp.code_at(SHA1_SEED, totp.step_of(time.time()))
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as second:
        answers = []
        for app in (client, second):
            browser = TestClient(app.app, base_url=str(client.base_url))
            request = oidc.Request(extra={"acr_values": "urn:tongxing:loa:3"})
            response = browser.get(request.url(), follow_redirects=False)
            page = browser.get(location(response))
            response = oidc.submit_login(browser, page.text)
            factor_page = browser.get(location(response))
            answers.append(
                browser.post(
                    "/login/factor/totp",
                    data={
                        "interaction": oidc.hidden(factor_page.text, "interaction"),
                        "csrf_token": oidc.hidden(factor_page.text, "csrf_token"),
                        "code": code,
                    },
                    follow_redirects=False,
                )
            )
    assert answers[0].status_code in (302, 303)
    assert answers[1].status_code == 400  # the same code, on the other process: refused


def test_no_recovery_codes_without_a_second_factor(client: TestClient, person: str) -> None:
    token = _csrf(client.get("/account").text, "/account/factors/totp/start")
    answer = client.post(
        "/account/recovery-codes", data={"csrf_token": token}, follow_redirects=False
    )
    assert "factors=not_found" in answer.headers["location"]
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        assert session.scalars(select(RecoveryCode)).first() is None
