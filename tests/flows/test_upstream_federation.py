"""Federation against a real upstream we did not write: Node's oidc-provider (pinned in
``tests/idp/upstream_peer/``) plays the provincial platform on a loopback port; our server
runs on uvicorn; a scripted browser (cookies kept, redirects followed between the two)
signs in through the upstream from a department app's authorization request.

Covered: the button on our sign-in page (zh-CN and en); a first sign-in creating a person at
the trusted proofing level, a later one reusing the stored link; linking by identity number
(an account without a password at once, one with a password after its holder types it);
``amr`` with ``fed`` and the mapped values, ``acr`` capped by the proofing level; tampered,
expired, wrong-nonce and foreign-key ID tokens and a replayed state refused with a page, no
session and an audit event; logout both ways (our logout continuing at the upstream's
end-session endpoint and back to the app; the upstream's back-channel logout token ending
our session, with our own back-channel logout to the app following).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from core.settings import Settings
from idp import accounts
from idp.models import UpstreamLink, User
from tests import oidc
from tests.in_process import tongxing
from tests.processes import free_port
from tests.receiver import receiver
from tests.upstream_peer import Peer, running_peer, serving
from tongxing import create_app
from tongxing.composition import Domain

pytestmark = pytest.mark.slow

UPSTREAM = "province"
UPSTREAM_SECRET = "province-client-secret-0123456789"
PEER_PASSWORD = "province-pass"
ZH_BUTTON = "使用省统一身份认证平台登录"
EN_BUTTON = "Sign in with the Provincial Identity Platform"


@dataclass
class World:
    """Our server, the upstream, the app's back-channel receiver, the domain services."""

    ours: str
    peer: Peer
    domain: Domain
    env: dict[str, str]
    backchannel: list[dict[str, str]]


def _env(settings: Settings) -> dict[str, str]:
    kek = settings.key_encryption_key
    return {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(settings.data_dir),
        "TONGXING_ISSUER": settings.issuer,
        "TONGXING_KEY_ENCRYPTION_KEY": kek.get_secret_value() if kek else "",
        "TONGXING_DATABASE_URL": settings.database_url,
        "TONGXING_REDIS_URL": settings.redis_url,
        "TONGXING_STORE_PREFIX": settings.store_prefix,
        "TONGXING_LOG_FORMAT": "text",
    }


@pytest.fixture
def world(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[World]:
    """Both servers; the upstream registered through the CLI (trusted for identity numbers
    at level 2, its loa:2/loa:3 mapped to 2/3, pwd and otp passed on); a first-party app
    with a back-channel logout receiver."""
    port, peer_port = free_port(), free_port()
    settings = make_settings(issuer=f"http://127.0.0.1:{port}")
    env = _env(settings)
    app = create_app(settings)
    with (
        receiver() as (backchannel_uri, received),
        serving(app, port=port) as ours,
        running_peer(
            port=peer_port,
            rp_base=ours,
            upstream_id=UPSTREAM,
            client_secret=UPSTREAM_SECRET,
            log=tmp_path / "peer.log",
        ) as peer,
    ):
        domain: Domain = runtime_of(app).get(Domain)
        oidc.add_rp(domain, first_party=True, backchannel=backchannel_uri)
        created = tongxing(
            "upstreams", "create",
            "--id", UPSTREAM,
            "--name-zh", "省统一身份认证平台",
            "--name-en", "the Provincial Identity Platform",
            "--discovery-url", f"{peer.issuer}/.well-known/openid-configuration",
            "--client-id", "tongxing",
            "--scope", "openid profile idcard phone",
            "--claim", "name=name",
            "--claim", "national_id=id_number",
            "--claim", "phone=phone_number",
            "--acr", "urn:province:loa:2=2",
            "--acr", "urn:province:loa:3=3",
            "--amr", "pwd=pwd",
            "--amr", "otp=otp",
            "--trust-national-id", "2",
            env=env,
            stdin=UPSTREAM_SECRET + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        assert created.stdout.strip().splitlines()[-1] == UPSTREAM
        yield World(ours=ours, peer=peer, domain=domain, env=env, backchannel=received)


class Browser:
    """A scripted browser: cookies kept, redirects followed while they stay on loopback."""

    def __init__(
        self, lang: str = "zh-CN", *, local: tuple[str, ...] = ("http://127.0.0.1:",)
    ) -> None:
        self.local = local
        self.button = ZH_BUTTON if lang == "zh-CN" else EN_BUTTON
        self.http = httpx.Client(
            follow_redirects=False, timeout=20, headers={"Accept-Language": lang}
        )

    def _follow(self, response: httpx.Response) -> httpx.Response:
        for _ in range(20):
            if response.status_code not in (301, 302, 303, 307):
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if not target.startswith(self.local):
                return response  # an app's address: where the flow hands over
            response = self.http.get(target)
        raise AssertionError("too many redirects")

    def get(self, url: str) -> httpx.Response:
        return self._follow(self.http.get(url))

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        return self._follow(self.http.post(url, data=data))


def _button(page: httpx.Response, text: str) -> str:
    found = re.search(r'<a id="upstream-province" href="([^"]+)">([^<]+)</a>', page.text)
    assert found, page.text[:2000]
    assert found.group(2) == text
    return html.unescape(found.group(1))


def _through_upstream(
    world: World,
    browser: Browser,
    login: str,
    *,
    acr: str = "urn:province:loa:2",
    request: oidc.Request | None = None,
) -> httpx.Response:
    """From an app's authorization request, through the button and the upstream's sign-in
    form, to whatever our server answers after the callback."""
    request = request or oidc.Request()
    page = browser.get(world.ours + request.url())
    assert page.status_code == 200 and "/login?interaction=" in str(page.url), page.text[:500]
    form = browser.get(world.ours + _button(page, browser.button))
    assert str(form.url).startswith(world.peer.issuer + "/interaction/"), form.text[:500]
    action = re.search(r'action="([^"]+)"', form.text)
    assert action
    return browser.post(
        world.peer.issuer + html.unescape(action.group(1)),
        {"login": login, "password": PEER_PASSWORD, "acr": acr},
    )


def _id_token(world: World, response: httpx.Response, request: oidc.Request) -> dict[str, Any]:
    """The app's view: redeem its code, return its ID token's claims (and the raw token)."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:1000])
    target = response.headers["location"]
    assert target.startswith(oidc.REDIRECT), target
    code = oidc.query(target)["code"]
    redeemed = httpx.post(
        world.ours + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
        },
        headers=oidc.basic(request.client_id),
        timeout=20,
    )
    assert redeemed.status_code == 200, redeemed.text
    token = redeemed.json()["id_token"]
    return {**oidc.jwt_claims(token), "_raw": token}


def _user(world: World, user_id: str) -> User:
    with world.domain.keys.database.reading() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def _user_of_sub(world: World, sub: str) -> str:
    with world.domain.keys.database.reading() as session:
        link = session.scalars(select(UpstreamLink).where(UpstreamLink.subject == sub)).one()
        return link.user_id


def _events(world: World, kind: str) -> list[dict[str, Any]]:
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == kind).order_by(AuditEntry.index)
        return [json.loads(e.leaf) for e in session.scalars(query).all()]


def test_the_sign_in_page_shows_the_upstream_button_in_both_languages(world: World) -> None:
    for lang, text in (("zh-CN", ZH_BUTTON), ("en", EN_BUTTON)):
        browser = Browser(lang)
        page = browser.get(world.ours + oidc.Request().url())
        assert page.status_code == 200
        _button(page, text)


def test_a_first_sign_in_creates_a_person_and_a_later_one_uses_the_link(world: World) -> None:
    request = oidc.Request()
    answer = _through_upstream(world, Browser(), "wang", acr="urn:province:loa:3", request=request)
    claims = _id_token(world, answer, request)
    # The upstream said loa:3, but the person is proofed to 2 (a trusted identity number).
    assert claims["acr"] == "urn:tongxing:loa:2"
    assert claims["amr"][0] == "fed" and {"pwd", "otp"} <= set(claims["amr"])
    user_id = _user_of_sub(world, "wang")
    person = _user(world, user_id)
    assert person.display_name == "王五"
    assert person.proofing_level == 2 and person.national_id_masked == "110***********4477"
    assert person.phone == "13900000001" and person.password_hash is None
    assert [e["actor"] for e in _events(world, "user.created")] == ["upstream:province"]

    again = oidc.Request()
    claims = _id_token(world, _through_upstream(world, Browser(), "wang", request=again), again)
    assert claims["acr"] == "urn:tongxing:loa:2" and claims["amr"] == ["fed", "pwd"]
    with world.domain.keys.database.reading() as session:
        assert len(session.scalars(select(User)).all()) == 1  # no second person


def test_an_untrusted_or_missing_identity_number_makes_a_level_1_person(world: World) -> None:
    request = oidc.Request()
    claims = _id_token(world, _through_upstream(world, Browser(), "qian", request=request), request)
    assert claims["acr"] == "urn:tongxing:loa:1" and "fed" in claims["amr"]
    qian = _user(world, _user_of_sub(world, "qian"))
    assert qian.proofing_level == 1
    assert qian.phone is None  # phone_number_verified false: not a login here


def _existing(world: World, username: str, national_id: str, *, password: str | None) -> str:
    with world.domain.keys.database.transaction() as session:
        user = accounts.create_user(
            session,
            data_keys=world.domain.data_keys,
            events=world.domain.audit,
            username=username,
            display_name=username,
            actor="test",
            password=password,
            national_id=national_id,
            proofing_level=3,
        )
        return user.id


def test_an_account_without_a_password_is_linked_by_identity_number(world: World) -> None:
    existing = _existing(world, "zhaoliu", "350102200001012463", password=None)
    request = oidc.Request()
    claims = _id_token(
        world,
        _through_upstream(world, Browser(), "zhao", acr="urn:province:loa:3", request=request),
        request,
    )
    assert _user_of_sub(world, "zhao") == existing
    assert claims["acr"] == "urn:tongxing:loa:3"  # proofed to 3 here, loa:3 there


def test_an_account_with_a_password_is_linked_once_its_holder_confirms(world: World) -> None:
    existing = _existing(world, "sunqi", "11010519491231002X", password=oidc.PASSWORD)
    browser = Browser()
    request = oidc.Request()
    page = _through_upstream(world, browser, "sun", request=request)
    assert page.status_code == 200 and "sunqi" in page.text and "省统一身份认证平台" in page.text
    assert "tx_sso" not in browser.http.cookies
    form = {
        "token": oidc.hidden(page.text, "token"),
        "csrf_token": oidc.hidden(page.text, "csrf_token"),
    }
    wrong = browser.post(world.ours + "/login/upstream/confirm", {**form, "password": "nope"})
    assert wrong.status_code == 400 and 'id="confirm-error"' in wrong.text
    with world.domain.keys.database.reading() as session:
        assert session.scalars(select(UpstreamLink)).all() == []
    assert _events(world, "upstream.link_refused")
    right = browser.post(
        world.ours + "/login/upstream/confirm", {**form, "password": oidc.PASSWORD}
    )
    claims = _id_token(world, right, request)
    assert _user_of_sub(world, "sun") == existing and "fed" in claims["amr"]
    # The token was single use; the next sign-in goes by the link, without a question.
    replay = browser.post(
        world.ours + "/login/upstream/confirm", {**form, "password": oidc.PASSWORD}
    )
    assert replay.status_code == 400
    later = oidc.Request()
    _id_token(world, _through_upstream(world, Browser(), "sun", request=later), later)


@pytest.mark.parametrize("fault", ["tamper", "expired", "nonce", "foreign-key"])
def test_a_bad_id_token_is_refused_without_a_session(world: World, fault: str) -> None:
    browser = Browser("en")
    world.peer.fault(fault)
    page = _through_upstream(world, browser, "wang")
    assert page.status_code == 400, page.text[:500]
    assert "did not pass our checks" in page.text
    assert "tx_sso" not in browser.http.cookies
    with world.domain.keys.database.reading() as session:
        assert session.scalars(select(User)).all() == []
    refused = _events(world, "login.upstream_failed")
    assert [e["details"]["reason"] for e in refused] == ["token"]


def test_prompt_login_and_max_age_pass_upstream(world: World) -> None:
    browser = Browser()
    request = oidc.Request(extra={"prompt": "login", "max_age": "300"})
    page = browser.get(world.ours + request.url())
    sent = browser.http.get(world.ours + _button(page, ZH_BUTTON))
    assert sent.status_code in (302, 303)
    query = oidc.query(sent.headers["location"])
    assert query["prompt"] == "login" and query["max_age"] == "300"
    plain = Browser()
    page = plain.get(world.ours + oidc.Request().url())
    query = oidc.query(plain.http.get(world.ours + _button(page, ZH_BUTTON)).headers["location"])
    assert "prompt" not in query and "max_age" not in query


@pytest.mark.parametrize("fault", ["old-auth-time", "no-auth-time"])
def test_with_max_age_a_stale_or_missing_upstream_auth_time_is_refused(
    world: World, fault: str
) -> None:
    browser = Browser("en")
    world.peer.fault(fault)
    request = oidc.Request(extra={"max_age": "300"})
    page = _through_upstream(world, browser, "wang", request=request)
    assert page.status_code == 400, page.text[:500]
    assert "did not pass our checks" in page.text
    assert "tx_sso" not in browser.http.cookies
    refused = _events(world, "login.upstream_failed")
    assert [e["details"]["reason"] for e in refused] == ["token"]
    assert "auth_time" in refused[0]["details"]["detail"]


def test_the_session_keeps_the_upstreams_auth_time(world: World) -> None:
    world.peer.fault("earlier-auth-time")  # the person signed in there 100 s ago
    request = oidc.Request(extra={"max_age": "300"})
    claims = _id_token(world, _through_upstream(world, Browser(), "wang", request=request), request)
    assert claims["auth_time"] <= time.time() - 90


def test_a_callback_replayed_or_from_another_browser_is_refused(world: World) -> None:
    browser = Browser()
    request = oidc.Request()
    page = browser.get(world.ours + request.url())
    form = browser.get(world.ours + _button(page, ZH_BUTTON))
    action = re.search(r'action="([^"]+)"', form.text)
    assert action
    # Stop at our callback: see its URL, then let another browser present it.
    answer = browser.http.post(
        world.peer.issuer + html.unescape(action.group(1)),
        data={"login": "wang", "password": PEER_PASSWORD},
    )
    for _ in range(5):
        target = urljoin(str(answer.url), answer.headers["location"])
        if "/login/upstream/province/callback" in target:
            break
        answer = browser.http.get(target)
    assert "/login/upstream/province/callback" in target
    assert "state=" in target and "iss=" in target
    stranger = Browser()
    stranger.get(world.ours + oidc.Request().url())  # has a browser cookie of its own
    assert stranger.get(target).status_code == 400
    # The state was taken by that attempt: the rightful browser cannot use it either.
    assert browser.get(target).status_code == 400
    assert "tx_sso" not in browser.http.cookies


def _logout_form(page: httpx.Response) -> dict[str, str]:
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    assert xsrf, page.text[:1000]
    return {"xsrf": xsrf.group(1), "logout": "yes"}


def _wait_for(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_our_logout_continues_at_the_upstream_and_comes_back_to_the_app(world: World) -> None:
    browser = Browser()
    request = oidc.Request()
    claims = _id_token(world, _through_upstream(world, browser, "wang", request=request), request)
    ended = browser.get(
        world.ours
        + "/logout?"
        + urlencode(
            {
                "id_token_hint": claims["_raw"],
                "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT,
                "state": "app-state",
            }
        )
    )
    # At the upstream's end-session page, with our ID token hint from it.
    assert str(ended.url).startswith(world.peer.issuer + "/session/end"), ended.url
    assert "id_token_hint=" in str(ended.url)
    back = browser.post(world.peer.issuer + "/session/end/confirm", _logout_form(ended))
    assert back.status_code in (302, 303)
    assert back.headers["location"] == oidc.LOGOUT_REDIRECT + "?state=app-state"
    _wait_for(lambda: len(world.backchannel) == 1)  # our app heard of it
    # Signed out at both: a new sign-in shows our page, and the upstream's form again.
    again = browser.get(world.ours + oidc.Request().url())
    assert "/login?interaction=" in str(again.url)
    form = browser.get(world.ours + _button(again, ZH_BUTTON))
    assert str(form.url).startswith(world.peer.issuer + "/interaction/")


def test_the_upstreams_back_channel_logout_ends_our_session(world: World) -> None:
    browser = Browser()
    request = oidc.Request()
    _id_token(world, _through_upstream(world, browser, "wang", request=request), request)
    assert browser.get(world.ours + oidc.Request().url()).status_code == 302  # signed in
    # The person signs out at the province directly (not through us).
    page = browser.get(world.peer.issuer + "/session/end")
    done = browser.post(world.peer.issuer + "/session/end/confirm", _logout_form(page))
    assert done.status_code == 200
    _wait_for(lambda: len(world.backchannel) == 1)  # our own back-channel logout followed
    assert _events(world, "logout")[-1]["details"]["reason"] == "upstream-backchannel"
    again = browser.get(world.ours + oidc.Request().url())
    assert again.status_code == 200 and "/login?interaction=" in str(again.url)


def test_a_logout_token_that_does_not_verify_is_refused(world: World) -> None:
    url = f"{world.ours}/login/upstream/{UPSTREAM}/backchannel-logout"
    forged = "eyJhbGciOiJub25lIn0." + oidc.b64json({"iss": world.peer.issuer}) + "."
    answer = httpx.post(url, data={"logout_token": forged}, timeout=10)
    assert answer.status_code == 400 and answer.headers["cache-control"] == "no-store"
    # Anyone can post here: logged, not appended to the audit log one by one.
    assert not _events(world, "logout.upstream_refused")


def test_the_cli_lists_and_disables_the_upstream(world: World) -> None:
    listed = tongxing("upstreams", "list", "--json", env=world.env)
    assert listed.returncode == 0, listed.stderr
    assert UPSTREAM_SECRET not in listed.stdout and '"issuer"' in listed.stdout
    assert tongxing("upstreams", "disable", UPSTREAM, env=world.env).returncode == 0
    page = Browser().get(world.ours + oidc.Request().url())
    assert 'id="upstream-province"' not in page.text


def _callback_url(world: World, browser: Browser) -> str:
    """Sign in at the upstream (unless already) and stop at our callback: its URL, not yet
    visited."""
    page = browser.get(world.ours + oidc.Request().url())
    answer = browser.http.get(world.ours + _button(page, browser.button))
    for _ in range(10):
        if answer.status_code == 200:  # the upstream's sign-in form
            action = re.search(r'action="([^"]+)"', answer.text)
            assert action, answer.text[:500]
            answer = browser.http.post(
                world.peer.issuer + html.unescape(action.group(1)),
                data={"login": "wang", "password": PEER_PASSWORD},
            )
            continue
        target = urljoin(str(answer.url), answer.headers["location"])
        if "/callback?" in target:
            return target
        answer = browser.http.get(target)
    raise AssertionError("no callback")


def test_an_error_from_the_upstream_gets_a_clear_page(world: World) -> None:
    browser = Browser("en")
    target = _callback_url(world, browser)
    params = oidc.query(target)
    denied = {"error": "access_denied", "state": params["state"], "iss": params["iss"]}
    page = browser.get(target.split("?")[0] + "?" + urlencode(denied))
    assert page.status_code == 400 and "did not complete the sign-in (access_denied)" in page.text
    assert "tx_sso" not in browser.http.cookies
    assert [e["details"]["reason"] for e in _events(world, "login.upstream_failed")] == ["upstream"]


def test_a_callback_naming_another_issuer_is_refused(world: World) -> None:
    browser = Browser()
    target = _callback_url(world, browser)
    params = {**oidc.query(target), "iss": "https://mix-up.example"}  # RFC 9207
    page = browser.get(target.split("?")[0] + "?" + urlencode(params))
    assert page.status_code == 400 and "tx_sso" not in browser.http.cookies
    # The upstream promises iss (its metadata says so): a callback without it is refused too.
    again = _callback_url(world, browser)
    params = {k: v for k, v in oidc.query(again).items() if k != "iss"}
    page = browser.get(again.split("?")[0] + "?" + urlencode(params))
    assert page.status_code == 400 and "tx_sso" not in browser.http.cookies
    assert {e["details"]["detail"] for e in _events(world, "login.upstream_failed")} == {"iss"}


def test_an_unreachable_upstream_gets_a_clear_page(world: World) -> None:
    world.peer.stop()
    browser = Browser("en")
    page = browser.get(world.ours + oidc.Request().url())
    answer = browser.get(world.ours + _button(page, EN_BUTTON))
    assert answer.status_code == 400 and "cannot be reached" in answer.text
