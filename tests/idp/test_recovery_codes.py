"""Recovery codes: stored only as keyed digests, single use (also when used concurrently),
replaced all at once, and a step-up method over HTTP that is audited and counted down on the
account page; both storage configurations."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from idp import recovery_codes
from idp.models import RecoveryCode
from tests import oidc
from tests.oidc import location


def _generate(domain: Any, user_id: str) -> list[str]:
    with domain.keys.database.transaction() as session:
        return recovery_codes.generate(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            user_id=user_id,
            actor=user_id,
        )


def _use(domain: Any, user_id: str, code: str) -> bool:
    with domain.keys.database.transaction() as session:
        return recovery_codes.use(session, data_keys=domain.data_keys, user_id=user_id, code=code)


def test_ten_codes_stored_as_digests_each_used_once(domain: Any) -> None:
    user_id = oidc.add_person(domain)
    codes = _generate(domain, user_id)
    assert len(codes) == recovery_codes.COUNT == len(set(codes))
    assert all(re.fullmatch(r"[A-Z2-7]{5}-[A-Z2-7]{5}", c) for c in codes)
    with domain.keys.database.reading() as session:
        digests = list(session.scalars(select(RecoveryCode.digest)))
        entries = [e.leaf for e in session.scalars(select(AuditEntry))]
    assert len(digests) == 10
    for code in codes:
        assert all(code.replace("-", "") not in d.upper() for d in digests)
        assert all(code.replace("-", "").encode() not in leaf for leaf in entries)
    # Typed in lower case with a space instead of the dash: the same code.
    assert _use(domain, user_id, codes[0].lower().replace("-", " "))
    assert not _use(domain, user_id, codes[0])  # spent
    assert not _use(domain, user_id, "AAAAA-AAAAA")
    assert not _use(domain, user_id, "not a code")
    with domain.keys.database.reading() as session:
        assert recovery_codes.remaining(session, user_id) == 9
    # Someone else's code is not mine.
    other = oidc.add_person(domain, "lisi")
    assert not _use(domain, other, codes[1])
    # New codes replace every earlier one.
    fresh = _generate(domain, user_id)
    assert not _use(domain, user_id, codes[1])
    assert _use(domain, user_id, fresh[1])


def test_a_code_used_concurrently_wins_once(domain: Any) -> None:
    user_id = oidc.add_person(domain)
    code = _generate(domain, user_id)[0]
    results: list[bool] = []
    start = threading.Barrier(6)

    def attempt() -> None:
        start.wait()
        try:
            results.append(_use(domain, user_id, code))
        except Exception:  # a serialisation failure is a refusal too
            results.append(False)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def _step_up_page(browser: TestClient) -> Any:
    request = oidc.Request(extra={"acr_values": "urn:tongxing:loa:3"})
    response = browser.get(request.url(), follow_redirects=False)
    target = location(response)
    if target.startswith("/login?"):
        page = browser.get(target)
        response = oidc.submit_login(browser, page.text)
        target = location(response)
    assert target.startswith("/login/factor?"), target
    return request, response, browser.get(target)


def test_a_recovery_code_steps_up_once(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    user_id = oidc.add_person(domain, proofing_level=4, second_factor=True)
    oidc.add_rp(domain, first_party=True)
    codes = _generate(domain, user_id)
    request, _, page = _step_up_page(client)
    assert 'action="/login/factor/recovery"' in page.text
    used = client.post(
        "/login/factor/recovery",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": codes[0],
        },
        follow_redirects=False,
    )
    final = oidc.follow_to_rp(client, used)
    tokens = oidc.redeem(client, request, oidc.query(final)["code"])
    claims = oidc.jwt_claims(tokens.json()["id_token"])
    assert claims["acr"] == "urn:tongxing:loa:3"
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    with domain.keys.database.reading() as session:
        leaves = [
            json.loads(e.leaf)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.type == "recovery_code.used")
            )
        ]
    assert [leaf["details"]["remaining"] for leaf in leaves] == [9]
    assert codes[0].replace("-", "") not in json.dumps(leaves)
    assert 'data-recovery-left="9"' in client.get("/account").text
    assert "剩余 9 个未使用的恢复码" in client.get("/account").text
    # The same code in another browser: refused, and the failure audited.
    other = TestClient(client.app, base_url=str(client.base_url))
    _, _, page = _step_up_page(other)
    again = other.post(
        "/login/factor/recovery",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": codes[0],
        },
        follow_redirects=False,
    )
    assert again.status_code == 400 and 'role="alert"' in again.text
    with domain.keys.database.reading() as session:
        failed = [
            json.loads(e.leaf)["details"]
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.type == "login.factor_failed")
            )
        ]
    assert failed[-1]["method"] == "recovery"


def test_regenerate_on_the_account_page_shows_new_codes_once(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    user_id = oidc.add_person(domain, proofing_level=4, second_factor=True)
    oidc.add_rp(domain, first_party=True)
    old = _generate(domain, user_id)
    # A level-3 sign-in (password and TOTP) just now: strong and recent.
    oidc.sign_in(client, oidc.Request(extra={"acr_values": "urn:tongxing:loa:3"}))
    page = client.get("/account").text
    token = re.search(
        r'action="/account/recovery-codes".*?name="csrf_token" value="([^"]+)"', page, re.S
    )
    assert token
    shown = client.post("/account/recovery-codes", data={"csrf_token": token.group(1)})
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    fresh = re.findall(r"<code>([A-Z2-7]{5}-[A-Z2-7]{5})</code>", shown.text)
    assert len(fresh) == 10 and not set(fresh) & set(old)
    assert not _use(domain, user_id, old[0])
    assert _use(domain, user_id, fresh[0])
    account = client.get("/account").text
    assert all(code not in account for code in fresh)
