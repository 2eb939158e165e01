"""The account page over HTTP in zh-CN and en, in both storage configurations: connected
apps (first-party ones too), the organisation role in words, times in Beijing time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from tests import oidc
from tests.oidc import location

BEIJING = timezone(timedelta(hours=8))


def _signed_in_minute(text: str, zone_words: str) -> datetime:
    found = re.search(rf"(\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}) {re.escape(zone_words)}", text)
    assert found, text
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)


def _is_now(moment: datetime) -> bool:
    return abs(datetime.now(BEIJING) - moment) < timedelta(minutes=2)


def test_a_first_party_app_is_connected_right_after_signing_in(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    org_id = oidc.add_organisation(domain, member="zhangsan", role="admin")
    oidc.add_rp(domain, first_party=True)
    response = client.get(oidc.Request().url(), follow_redirects=False)
    page = client.get(location(response))
    signed_in = oidc.submit_login(client, page.text)
    choice = client.get(location(signed_in))
    assert "角色：管理员" in choice.text and "admin" not in choice.text
    request = oidc.Request()
    callback = oidc.sign_in(client, request, organisation=org_id)
    before_redemption = client.get("/account")
    assert "App permits" in before_redemption.text  # signed into, code not redeemed yet
    assert oidc.redeem(client, request, callback["code"]).status_code == 200
    account = client.get("/account")
    assert account.status_code == 200
    assert "App permits" in account.text  # first-party: a live grant, no consent
    assert "某某科技有限公司 (管理员)" in account.text
    assert "admin" not in account.text
    assert _is_now(_signed_in_minute(account.text, "北京时间（UTC+8）"))
    english = client.get("/account", headers={"accept-language": "en"})
    assert "App permits" in english.text
    assert "(administrator)" in english.text
    assert _is_now(_signed_in_minute(english.text, "Beijing time (UTC+8)"))


def test_members_and_consented_apps_in_english(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    org_id = oidc.add_organisation(domain, member="zhangsan", role="member")
    oidc.add_rp(domain)  # third party: asks for consent
    oidc.add_rp(domain, "housing", first_party=True, redirect_uri="https://housing.example/cb")
    oidc.sign_in(client, oidc.Request(), organisation=org_id)
    oidc.sign_in(
        client, oidc.Request(client_id="housing", redirect_uri="https://housing.example/cb")
    )
    english = client.get("/account?lang=en")
    assert english.headers["content-language"] == "en"
    assert re.search(r"App housing.*App permits", english.text, re.S)
    assert "(member)" in english.text
    assert _is_now(_signed_in_minute(english.text, "Beijing time (UTC+8)"))
    chinese = client.get("/account?lang=zh-CN")
    assert "(成员)" in chinese.text
    assert "App housing" in chinese.text and "App permits" in chinese.text
