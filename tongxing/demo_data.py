"""Demo data: a citizen, an enterprise with a staff member, and two department apps.

Only ever seeded in demo mode, idempotently (a second start changes nothing, except that
the demo apps' registered URIs follow the demo's address when it moved, and people seeded
by an older version get the level and second factor this one seeds). The demo passwords
are fixed and printed on start, and the seeded TOTP secrets are derived from the login
(:func:`totp_secret`; ``tongxing demo totp --user LOGIN`` prints the current code): demo
mode is for trying things out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import appointments
from admin.service import Administration
from idp import accounts, agents, cas_services, repository, totp
from idp import clients as registry
from idp.assurance import acr
from idp.models import PROOFING_METHODS, Authenticator, Client, User
from idp.sms import mask_phone
from seal import grants as seal_grants
from seal import registry as seals
from seal import repository as seal_repository
from tongxing.composition import Domain

DEMO_PASSWORD = "Tongxing-demo-2026"  # noqa: S105 - demo mode only, printed on start
ENTERPRISE_USCC = "91350100M000100Y43"
# A government department that issues certificates, its seal and its certificate system.
BUREAU_USCC = "11350100MB0020003P"
BUREAU_NAME = "通行市住房和城乡建设局"
DEMO_SEAL_ID = "seal_demo_approval"
CERTSYS_CLIENT_ID = "demo-certsys"
CERTSYS_SECRET = "Tongxing-demo-certsys-2026"  # noqa: S105 - demo mode only, printed on start
APPS = {"permits": "施工许可（演示）Permits", "housing": "住房保障（演示）Housing"}
# The level each demo app asks for with ``acr_values`` (none: any sign-in will do). The
# housing subsidy needs a verified real name and a second factor, so the tour shows step-up
# between the two apps without signing out.
APP_LEVELS = {"housing": 3}
# The demo's legacy app that speaks CAS 3.0 (tongxing.demo_cas_app): its service URL is
# ``<issuer><CAS_APP_PATH>``, registered exactly.
CAS_APP_PATH = "/demo/cas/records/"
CAS_APP_NAME = "档案查询（CAS 演示）Records"
CAS_SERVICE_ID = "demo-cas-records"
# The name of the TOTP authenticator the demo seeds (one per person that has one).
DEMO_TOTP_NAME = "演示 Demo TOTP"


@dataclass(frozen=True)
class DemoPerson:
    """A demo login, its identity-proofing level, and whether it has a seeded TOTP
    authenticator."""

    username: str
    display_name: str
    description: str
    proofing_level: int = 2
    totp: bool = True
    # A confirmed mobile number: SMS codes to it land in the demo outbox (/demo/sms).
    phone: str | None = None


PEOPLE = (
    DemoPerson("citizen", "张三", "市民 citizen", proofing_level=3, phone="13800000001"),
    DemoPerson(
        "staff",
        "李四",
        "企业员工 enterprise staff (某某科技有限公司)",
        proofing_level=4,
        phone="13800000002",
    ),
    DemoPerson(
        "officer", "王五", "住建局工作人员 bureau officer (seal administrator)", proofing_level=4
    ),
    DemoPerson(
        "agent",
        "吴十",
        "经办人 agent acting for 某某科技有限公司 (authorised, not an employee)",
        proofing_level=3,
    ),
    DemoPerson("sysadmin", "赵六", "系统管理员 system administrator", proofing_level=4),
    DemoPerson("secadmin", "钱七", "安全管理员 security administrator", proofing_level=4),
    DemoPerson("auditor", "孙八", "审计管理员 audit administrator", proofing_level=4),
    DemoPerson(
        "newcomer", "周九", "自助注册、未实名 self-registered, name not verified", 1, totp=False
    ),
)
# The first holders of the three administrator roles (三权分立), appointed like
# ``tongxing admin bootstrap`` would.
ROLE_HOLDERS = {"system": "sysadmin", "security": "secadmin", "audit": "auditor"}


def client_id(app: str) -> str:
    """The client id of a demo app."""
    return f"demo-{app}"


def app_acr(app: str) -> str | None:
    """The ``acr_values`` a demo app asks for, or None."""
    level = APP_LEVELS.get(app)
    return acr(level) if level else None


def totp_secret(username: str) -> bytes:
    """The seeded TOTP secret of a demo person: derived from the login, so the demo (and its
    tests) can compute the codes; demo mode only, like the printed demo password."""
    return hmac.new(b"tongxing-demo-totp", username.encode(), hashlib.sha1).digest()


def seed(domain: Domain, *, issuer: str, administration: Administration) -> None:
    """Create what is missing of the demo data (roles appointed through ``administration``)."""
    with domain.keys.database.transaction() as session:
        for person in PEOPLE:
            if repository.user_by_login(session, person.username) is None:
                accounts.create_user(
                    session,
                    data_keys=domain.data_keys,
                    events=domain.audit,
                    username=person.username,
                    display_name=person.display_name,
                    actor="demo",
                    password=DEMO_PASSWORD,
                    email=f"{person.username}@demo.tongxing.local",
                    proofing_level=person.proofing_level,
                )
            _seed_factors(session, domain, person)
        if repository.organisation(session, ENTERPRISE_USCC) is None:
            accounts.create_organisation(
                session,
                events=domain.audit,
                name="某某科技有限公司",
                uscc=ENTERPRISE_USCC,
                actor="demo",
            )
            accounts.add_member(
                session,
                events=domain.audit,
                organisation=ENTERPRISE_USCC,
                login="staff",
                role="admin",
                actor="demo",
            )
        for app, name in APPS.items():
            base = f"{issuer}/demo/apps/{app}"
            existing = repository.client(session, client_id(app))
            if existing is not None:
                _follow_issuer(session, domain, client=existing, base=base)
                continue
            registry.register(
                session,
                data_keys=domain.data_keys,
                events=domain.audit,
                client_id=client_id(app),
                name=name,
                grant_types=["authorization_code", "refresh_token"],
                scopes=["openid", "profile", "email"],
                actor="demo",
                auth_method="none",  # public clients with PKCE: no secret to keep in the demo
                redirect_uris=[f"{base}/callback"],
                post_logout_redirect_uris=[f"{base}/"],
                backchannel_logout_uri=f"{base}/backchannel-logout",
                first_party=True,
                loopback_server_uris=True,
            )
        _seed_cas_service(session, domain, issuer=issuer)
        _seed_agent(session, domain)
    _seed_sealing(domain)
    _seed_roles(domain, administration)


def _seed_agent(session: Session, domain: Domain) -> None:
    """吴十 acts for 某某科技有限公司 as its agent (经办人) for all business, for a year from the
    demo's first start: offered by its administrator 李四 and accepted, as on the console and
    the account page."""
    organisation = repository.organisation(session, ENTERPRISE_USCC)
    person = repository.user_by_login(session, "agent")
    if organisation is None or person is None:
        return
    if repository.agent_authorisations_of(
        session, person.id, statuses=("offered", "accepted", "declined", "revoked", "expired")
    ):
        return  # seeded before (or changed since by an administrator: left as it is)
    now = datetime.now(UTC)
    offered = agents.offer(
        session,
        events=domain.audit,
        organisation=organisation,
        user=person,
        scope="all",
        client_ids=(),
        valid_from=now,
        valid_until=now + timedelta(days=365),
        actor="demo",
    )
    agents.decide(
        session, events=domain.audit, authorisation_id=offered.id, user_id=person.id, accept=True
    )


def _seed_cas_service(session: Session, domain: Domain, *, issuer: str) -> None:
    """The CAS demo app's registration (its URL follows the demo's address)."""
    url = f"{issuer}{CAS_APP_PATH}"
    existing = repository.cas_service(session, CAS_SERVICE_ID)
    if existing is None:
        cas_services.register(
            session,
            events=domain.audit,
            service=url,
            name=CAS_APP_NAME,
            actor="demo",
            loopback_server_uris=True,
            service_id=CAS_SERVICE_ID,
        )
    elif existing.service != url:
        existing.service = url
        domain.audit.record(
            session,
            type="cas.service.moved",
            actor="demo",
            subject=CAS_SERVICE_ID,
            details={"service": url},
        )


def _seed_factors(session: Session, domain: Domain, person: DemoPerson) -> None:
    """The person's seeded level and TOTP authenticator, when missing (an install seeded by
    an older version had neither); each change is an audit event."""
    user = repository.user_by_login(session, person.username)
    if user is None:
        return
    if user.proofing_level < person.proofing_level:
        before = user.proofing_level
        user.proofing_level = person.proofing_level
        user.proofing_method = PROOFING_METHODS[person.proofing_level]
        user.proofed_at = datetime.now(UTC)
        domain.audit.record(
            session,
            type="user.updated",
            actor="demo",
            subject=user.id,
            details={
                "proofing_level": person.proofing_level,
                "before": before,
                "reason": "the demo's seeded level",
            },
        )
    if person.phone and user.phone is None:
        user.phone, user.phone_verified = person.phone, True
        domain.audit.record(
            session,
            type="user.phone_verified",
            actor="demo",
            subject=user.id,
            details={"phone": mask_phone(person.phone)},
        )
    if not person.totp or _has_demo_totp(session, user):
        return
    added = totp.add(
        session,
        data_keys=domain.data_keys,
        user_id=user.id,
        secret=totp_secret(person.username),
        name=DEMO_TOTP_NAME,
    )
    session.flush()
    domain.audit.record(
        session,
        type="factor.enrolled",
        actor="demo",
        subject=user.id,
        details={"method": "totp", "authenticator": added.id, "name": added.name},
    )


def _has_demo_totp(session: Session, user: User) -> bool:
    found = session.scalar(
        select(Authenticator.id)
        .where(
            Authenticator.user_id == user.id,
            Authenticator.kind == "totp",
            Authenticator.name == DEMO_TOTP_NAME,
        )
        .limit(1)
    )
    return found is not None


def demo_totp(session: Session, username: str) -> Authenticator | None:
    """The seeded TOTP authenticator of a demo person, or None."""
    user = repository.user_by_login(session, username)
    if user is None:
        return None
    return session.scalar(
        select(Authenticator).where(
            Authenticator.user_id == user.id,
            Authenticator.kind == "totp",
            Authenticator.name == DEMO_TOTP_NAME,
        )
    )


def _seed_roles(domain: Domain, administration: Administration) -> None:
    with domain.keys.database.reading() as session:
        if repository.platform_role_holders(session):
            return
    appointments.bootstrap(administration, **ROLE_HOLDERS)


def _follow_issuer(session: Session, domain: Domain, *, client: Client, base: str) -> None:
    """Point a demo app's registered URIs at the demo's current address (the demo restarted
    on another port or host name); nothing changes, and nothing is logged, if they do."""
    uris = {
        "redirect_uris": [f"{base}/callback"],
        "post_logout_redirect_uris": [f"{base}/"],
        "backchannel_logout_uri": f"{base}/backchannel-logout",
    }
    before = {name: getattr(client, name) for name in uris}
    if before == uris:
        return
    for name, value in uris.items():
        setattr(client, name, value)
    domain.audit.record(
        session,
        type="client.updated",
        actor="demo",
        subject=client.client_id,
        details={"reason": "the demo's address changed", **uris},
    )


def _seed_sealing(domain: Domain) -> None:
    """The bureau, its approval seal, and a certificate system allowed to apply it."""
    with domain.keys.database.transaction() as session:
        if repository.organisation(session, BUREAU_USCC) is None:
            accounts.create_organisation(
                session, events=domain.audit, name=BUREAU_NAME, uscc=BUREAU_USCC, actor="demo"
            )
            accounts.add_member(
                session,
                events=domain.audit,
                organisation=BUREAU_USCC,
                login="officer",
                role="admin",
                actor="demo",
            )
        if seal_repository.seal(session, DEMO_SEAL_ID) is None:
            seals.create_seal(
                session,
                hierarchy=domain.keys.hierarchy,
                organisation_name=BUREAU_NAME,
                organisation_uscc=BUREAU_USCC,
                seal_type="approval",
                font=domain.keys.custody.settings.seal_font,
                actor="demo",
                seal_id=DEMO_SEAL_ID,
            )
        if repository.client(session, CERTSYS_CLIENT_ID) is None:
            registry.register(
                session,
                data_keys=domain.data_keys,
                events=domain.audit,
                client_id=CERTSYS_CLIENT_ID,
                name="施工许可证书系统（演示）Permit certificates",
                grant_types=["client_credentials"],
                scopes=["seal:sign"],
                actor="demo",
                secret=CERTSYS_SECRET,
                owner_organisation_id=BUREAU_USCC,
            )
            seal_grants.create(
                session,
                events=domain.audit,
                seal_id=DEMO_SEAL_ID,
                client_id=CERTSYS_CLIENT_ID,
                approved_by="officer",
                actor="demo",
            )
