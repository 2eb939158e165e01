"""A sealing world for tests: an organisation with an administrator, a seal, a certificate
system client granted that seal, tokens for it, and shortcuts to the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from audit.models import AuditEntry
from idp import clients as client_registry
from keys import access_tokens
from seal import grants, registry, repository
from tests.oidc import add_organisation, add_person, domain_of
from tongxing.demo_sealing import sample_permit

CLIENT_ID = "permit-system"
USCC = "11350100MB0020003P"
ORG = "通行市住房和城乡建设局"


@dataclass
class World:
    client: TestClient
    seal_id: str
    grant_id: str

    @property
    def domain(self) -> Any:
        return domain_of(self.client)

    def token(
        self,
        *,
        scope: str = "seal:sign",
        audience: str = "/seal",
        client_id: str = CLIENT_ID,
        lifetime: int = 300,
    ) -> str:
        keys = self.domain.keys
        base = keys.custody.settings.issuer
        with keys.database.transaction() as session:
            return access_tokens.mint(
                session,
                custody=keys.custody,
                issuer=base,
                audience=base + audience,
                subject=client_id,
                client_id=client_id,
                scope=scope,
                lifetime=timedelta(seconds=lifetime),
            )

    def sign(
        self,
        pdf: bytes | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        data = {"seal_id": self.seal_id, "anchor": "（盖章）", **fields}
        data = {k: str(v) for k, v in data.items() if v is not None}
        return self.client.post(
            "/seal/v1/sign",
            headers={"Authorization": f"Bearer {token or self.token()}", **(headers or {})},
            files={
                "file": ("permit.pdf", sample_permit() if pdf is None else pdf, "application/pdf")
            },
            data=data,
        )

    def verify(self, pdf: bytes) -> dict[str, Any]:
        answer = self.client.post(
            "/seal/v1/verify", files={"file": ("sealed.pdf", pdf, "application/pdf")}
        )
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report

    def sealings_logged(self) -> int:
        with self.domain.keys.database.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.type == "seal.applied")
                )
                or 0
            )

    def uses(self) -> int:
        with self.domain.keys.database.transaction() as session:
            grant = repository.grant(session, self.grant_id)
            assert grant is not None
            return grant.uses

    def add_grant(self, **options: Any) -> str:
        with self.domain.keys.database.transaction() as session:
            for old in repository.grants(session, seal_id=self.seal_id):
                old.status = "revoked"
            grant = grants.create(
                session,
                events=self.domain.audit,
                seal_id=self.seal_id,
                client_id=CLIENT_ID,
                approved_by="officer",
                actor="test",
                **options,
            )
            self.grant_id = grant.id
            return grant.id

    def set_status(self, action: str) -> None:
        with self.domain.keys.database.transaction() as session:
            getattr(registry, action)(
                session, hierarchy=self.domain.keys.hierarchy, seal_id=self.seal_id, actor="test"
            )


def make_world(
    client: TestClient,
    *,
    seal_type: str = "approval",
    until: datetime | None = None,
    max_uses: int | None = None,
) -> World:
    domain = domain_of(client)
    add_person(domain, "officer", name="王五")
    add_organisation(domain, member="officer", uscc=USCC, name=ORG)
    with domain.keys.database.transaction() as session:
        seal = registry.create_seal(
            session,
            hierarchy=domain.keys.hierarchy,
            organisation_name=ORG,
            organisation_uscc=USCC,
            seal_type=seal_type,
            actor="test",
        )
        client_registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id=CLIENT_ID,
            name="施工许可证书系统",
            grant_types=["client_credentials"],
            scopes=["seal:sign"],
            actor="test",
        )
        grant = grants.create(
            session,
            events=domain.audit,
            seal_id=seal.id,
            client_id=CLIENT_ID,
            approved_by="officer",
            actor="test",
            not_after=until,
            max_uses=max_uses,
        )
        return World(client=client, seal_id=seal.id, grant_id=grant.id)


SECRET = "a certificate system secret of enough length"


def cli(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    """Run ``tongxing``; it must succeed; its last line of output (the new id)."""
    from tests.in_process import tongxing

    done = tongxing(*args, env=env, stdin=stdin)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip().splitlines()[-1]


SYSADMIN, SECADMIN, AUDITOR = "sysadmin", "secadmin", "auditor"


def set_up_with_cli(env: dict[str, str], *, members: tuple[str, ...] = ()) -> str:
    """The three administrator roles (:data:`SYSADMIN`, :data:`SECADMIN`, :data:`AUDITOR`),
    the bureau, its administrator ``officer`` (plus ``members``), the client
    ``permit-system`` (secret :data:`SECRET`, scope seal:sign) and an approval seal (filed
    by the officer, approved by the security administrator), all through the CLI an
    administrator uses; returns the seal id (no grant yet)."""
    for login in (SYSADMIN, SECADMIN, AUDITOR):
        cli(
            "users",
            "create",
            "--username",
            login,
            "--password-stdin",
            env=env,
            stdin="correct horse battery\n",
        )
    cli(
        "admin",
        "bootstrap",
        "--system",
        SYSADMIN,
        "--security",
        SECADMIN,
        "--audit",
        AUDITOR,
        env=env,
    )
    cli("orgs", "create", "--name", ORG, "--uscc", USCC, "--as", SYSADMIN, env=env)
    for login, role in (("officer", "admin"), *((m, "member") for m in members)):
        cli(
            "users",
            "create",
            "--username",
            login,
            "--password-stdin",
            "--as",
            SYSADMIN,
            env=env,
            stdin="correct horse battery\n",
        )
        cli(
            "orgs",
            "add-member",
            "--org",
            USCC,
            "--user",
            login,
            "--role",
            role,
            "--as",
            SYSADMIN,
            env=env,
        )
    cli(
        "clients",
        "create",
        "--client-id",
        CLIENT_ID,
        "--grant-type",
        "client_credentials",
        "--scope",
        "seal:sign",
        "--client-secret-stdin",
        "--as",
        SYSADMIN,
        env=env,
        stdin=SECRET + "\n",
    )
    return cli(
        "seals",
        "create",
        "--org",
        USCC,
        "--type",
        "approval",
        "--as",
        "officer",
        "--approve-as",
        SECADMIN,
        env=env,
    )
