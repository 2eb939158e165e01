"""Test helpers for the OpenID Connect flows: people, clients, and a scripted browser."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from idp import accounts
from idp import clients as registry
from tests import factors
from tongxing.composition import Domain

PASSWORD = "correct horse battery"
SECRET = "rp-secret-for-tests-0123456789"
REDIRECT = "https://rp.example/cb"
LOGOUT_REDIRECT = "https://rp.example/signed-out"
USCC = "91350100M000100Y43"
OTHER_USCC = "91110000MA01234000"


def domain_of(client: TestClient) -> Domain:
    """The domain services of the app behind ``client``."""
    found: Domain = runtime_of(client.app).get(Domain)
    return found


def add_person(
    domain: Domain,
    username: str = "zhangsan",
    *,
    name: str = "张三",
    email: str | None = None,
    proofing_level: int = 2,
    second_factor: bool = False,
) -> str:
    """A person with :data:`PASSWORD` (and TOTP authenticators answered by the scripted
    browser, with ``second_factor``); returns the user id."""
    with domain.keys.database.transaction() as session:
        user = accounts.create_user(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            username=username,
            display_name=name,
            actor="test",
            password=PASSWORD,
            email=email,
            proofing_level=proofing_level,
        )
        user_id = user.id
    if second_factor:
        factors.enrol_totp(domain, user_id)
    return user_id


def add_organisation(
    domain: Domain,
    *,
    member: str,
    role: str = "admin",
    uscc: str = USCC,
    name: str = "某某科技有限公司",
) -> str:
    """An organisation with ``member``; returns its id."""
    with domain.keys.database.transaction() as session:
        org = accounts.create_organisation(
            session, events=domain.audit, name=name, uscc=uscc, actor="test"
        )
        accounts.add_member(
            session, events=domain.audit, organisation=uscc, login=member, role=role, actor="test"
        )
        return org.id


def add_rp(
    domain: Domain,
    client_id: str = "permits",
    *,
    scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access"),
    first_party: bool = False,
    public: bool = False,
    backchannel: str | None = None,
    pairwise_sector: str | None = None,
    redirect_uri: str = REDIRECT,
    post_logout: str = LOGOUT_REDIRECT,
    id_token_alg: str | None = None,
) -> None:
    """A relying party using the code flow (with refresh tokens)."""
    with domain.keys.database.transaction() as session:
        registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id=client_id,
            name=f"App {client_id}",
            grant_types=["authorization_code", "refresh_token"],
            scopes=list(scopes),
            actor="test",
            auth_method="none" if public else "client_secret_basic",
            secret=None if public else SECRET,
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[post_logout],
            backchannel_logout_uri=backchannel,
            pairwise_sector=pairwise_sector,
            first_party=first_party,
            loopback_server_uris=True,
            id_token_alg=id_token_alg,
        )


def basic(client_id: str, secret: str = SECRET) -> dict[str, str]:
    """Basic client authentication headers."""
    raw = f"{client_id}:{secret}".encode()
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Request:
    """One authorization request with its PKCE verifier."""

    client_id: str = "permits"
    scope: str = "openid profile email"
    redirect_uri: str = REDIRECT
    state: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    extra: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The query of the authorization request."""
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **self.extra,
        }

    def url(self) -> str:
        """The authorization URL (path and query)."""
        return "/authorize?" + urlencode(self.params())


def hidden(html: str, name: str) -> str:
    """The value of a hidden input on a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def location(response: httpx.Response) -> str:
    """The redirect target of a response (which must be a redirect)."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["location"]


def query(url: str) -> dict[str, str]:
    """The query parameters of a URL (each once)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def follow_to_rp(
    browser: TestClient,
    response: httpx.Response,
    *,
    decision: str = "allow",
    organisation: str = "",
) -> str:
    """Answer our pages (organisation choice, consent) until the browser is sent to an RP;
    returns that URL."""
    for _ in range(6):
        target = location(response)
        if not target.startswith("/"):
            return target
        page = browser.get(target, follow_redirects=False)
        if page.status_code in (302, 303):
            response = page
            continue
        assert page.status_code == 200, page.text[:500]
        path = urlsplit(target).path
        form: dict[str, str] = {
            "interaction": hidden(page.text, "interaction"),
            "csrf_token": hidden(page.text, "csrf_token"),
        }
        if path == "/consent":
            form["decision"] = decision
        elif path == "/login/organisation":
            form["organisation"] = organisation
        elif path == "/login/factor":
            path = "/login/factor/totp"
            form["code"] = factors.next_code(_signing_user(browser, form["interaction"]))
        else:
            raise AssertionError(f"unexpected page {target}")
        response = browser.post(path, data=form, follow_redirects=False)
    raise AssertionError("too many steps")


def _signing_user(browser: TestClient, interaction: str) -> str:
    """The user id of the sign-in the factor page is for: one held in the interaction for
    its second factor, else the browser's SSO session."""
    from core.csrf import BROWSER_COOKIE
    from idp.runtime import IdentityProvider
    from idp.sessions import COOKIE

    idp = runtime_of(browser.app).get(IdentityProvider)  # type: ignore[arg-type]
    cookies = {c.name: c.value for c in browser.cookies.jar}
    found = idp.interactions.get(interaction, browser=cookies.get(BROWSER_COOKIE))
    if found is not None and found.first_factor is not None:
        return str(found.first_factor["user_id"])
    session = idp.sessions.get(cookies.get(COOKIE))
    assert session is not None, "the step-up page without a session"
    return session.user_id


def submit_login(
    browser: TestClient, page: str, *, login: str = "zhangsan", password: str = PASSWORD
) -> httpx.Response:
    """Post the sign-in form on ``page`` (its hidden fields, these credentials); the
    response is not followed."""
    return browser.post(
        "/login",
        data={
            "interaction": hidden(page, "interaction"),
            "csrf_token": hidden(page, "csrf_token"),
            "login": login,
            "password": password,
        },
        follow_redirects=False,
    )


def sign_in(
    browser: TestClient,
    request: Request,
    *,
    login: str = "zhangsan",
    password: str = PASSWORD,
    decision: str = "allow",
    organisation: str = "",
) -> dict[str, str]:
    """Run the authorization request, signing in on our page; returns the RP callback's query."""
    response = browser.get(request.url(), follow_redirects=False)
    target = location(response)
    if target.startswith("/login?"):
        page = browser.get(target)
        assert page.status_code == 200, page.text[:500]
        response = submit_login(browser, page.text, login=login, password=password)
    final = follow_to_rp(browser, response, decision=decision, organisation=organisation)
    assert final.startswith(request.redirect_uri), final
    return query(final)


def redeem(
    client: TestClient, request: Request, code: str, *, secret: str = SECRET
) -> httpx.Response:
    """Exchange a code at the token endpoint."""
    return client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
        },
        headers=basic(request.client_id, secret),
    )


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWS, for assertions."""
    import json

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def b64json(value: dict[str, Any]) -> str:
    """base64url(JSON) without padding, for hand-made JWS parts."""
    import json

    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
