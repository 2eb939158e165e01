"""The people and tokens of the admin tests: one holder of each platform role, an
organisation administrator, and tokens from a real code flow through the IdP."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from admin import actors, appointments
from admin.actors import Actor
from admin.service import Administration
from core.store import create_store
from idp import clients as registry
from idp import repository as idp_repository
from idp.runtime import IdentityProvider
from tests import oidc
from tongxing.composition import Domain, build_administration, build_identity_provider

CONSOLE = "test-console"
CONSOLE_SCOPES = ("openid", "profile", "admin:system", "admin:security", "admin:audit", "org:admin")
SYSTEM, SECURITY, AUDIT, ORG_ADMIN, NOBODY = "sys", "sec", "aud", "orgadm", "plain"


@dataclass
class World:
    """The admin test world on one domain."""

    domain: Domain
    admin: Administration
    organisation_id: str

    def actor(self, login: str) -> Actor:
        """``login`` acting in every capacity they hold now (as the CLI's ``--as``)."""
        with self.domain.keys.database.reading() as session:
            user = idp_repository.user_by_login(session, login)
            assert user is not None
            return actors.person(session, user)


def administration(domain: Domain, identity: IdentityProvider | None = None) -> Administration:
    """The rule book on ``domain``, with ``identity`` (an app's identity provider, whose
    sessions its acts then end) or one on a store of its own."""
    if identity is None:
        settings = domain.keys.custody.settings
        store = create_store(redis_url="", prefix=settings.store_prefix)
        identity = build_identity_provider(domain=domain, store=store)
    return build_administration(domain=domain, identity=identity)


def build(domain: Domain, identity: IdentityProvider | None = None) -> World:
    """Three role holders (bootstrapped), an organisation administrator and a plain person;
    the rule book on ``identity`` (see :func:`administration`)."""
    # Administrators are checked in person (level 4) and hold a second factor: acting in an
    # admin role needs level 3 (idp.assurance.ADMIN_LEVEL).
    for login in (SYSTEM, SECURITY, AUDIT, ORG_ADMIN):
        oidc.add_person(domain, login, name=login, proofing_level=4, second_factor=True)
    oidc.add_person(domain, NOBODY, name=NOBODY)
    organisation_id = oidc.add_organisation(domain, member=ORG_ADMIN)
    built = administration(domain, identity)
    appointments.bootstrap(built, system=SYSTEM, security=SECURITY, audit=AUDIT)
    return World(domain=domain, admin=built, organisation_id=organisation_id)


def add_console(domain: Domain) -> None:
    """A first-party client allowed to ask for every administrator scope."""
    with domain.keys.database.transaction() as session:
        registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id=CONSOLE,
            name="Console (tests)",
            grant_types=["authorization_code", "refresh_token"],
            scopes=list(CONSOLE_SCOPES),
            actor="test",
            secret=oidc.SECRET,
            redirect_uris=[oidc.REDIRECT],
            post_logout_redirect_uris=[oidc.LOGOUT_REDIRECT],
            first_party=True,
            admin_signin=True,
        )


def person_token(client: TestClient, login: str, *, scope: str, organisation: str = "") -> str:
    """An access token for ``login`` from a real code flow (a fresh browser each time)."""
    browser = TestClient(client.app, base_url=str(client.base_url))
    request = oidc.Request(client_id=CONSOLE, scope=scope)
    callback = oidc.sign_in(browser, request, login=login, organisation=organisation)
    response = oidc.redeem(client, request, callback["code"])
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def service_account(
    domain: Domain, client_id: str, *, scopes: list[str], owner: str | None = None
) -> None:
    """A client-credentials client (a service account) with ``scopes``."""
    with domain.keys.database.transaction() as session:
        registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id=client_id,
            name=client_id,
            grant_types=["client_credentials"],
            scopes=scopes,
            actor="test",
            secret=oidc.SECRET,
            owner_organisation_id=owner,
        )


def service_token(client: TestClient, client_id: str, scope: str) -> str:
    """A client-credentials token."""
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers=oidc.basic(client_id),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"authorization": f"Bearer {token}"}


def appoint_with_cli(env: dict[str, str]) -> None:
    """On an installation driven by the CLI (production mode): people ``sys``, ``sec`` and
    ``aud`` holding the three roles, as an operator would set them up (create, bootstrap)."""
    from tests.in_process import tongxing

    for login in (SYSTEM, SECURITY, AUDIT):
        made = tongxing("users", "create", "--username", login, env=env)
        assert made.returncode == 0, made.stderr
    appointed = tongxing(
        "admin", "bootstrap", "--system", SYSTEM, "--security", SECURITY, "--audit", AUDIT, env=env
    )
    assert appointed.returncode == 0, appointed.stderr
