"""The seal registry and grants on each database: images, the status machine, renewal,
grant limits, and the audit events each change leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select

from audit.models import AuditEntry
from keys import repository as key_repository
from keys.hierarchy import SEAL_CA
from seal import grants, registry, repository
from seal.errors import DocumentTypeNotGranted, GrantExhausted, GrantExpired, NoGrant
from seal.registry import RegistryError
from tongxing.composition import Domain

ORG, USCC = "某某科技有限公司", "91350100M000100Y43"


def _create(domain: Domain, **options: object) -> str:
    with domain.keys.database.transaction() as session:
        seal = registry.create_seal(
            session,
            hierarchy=domain.keys.hierarchy,
            organisation_name=ORG,
            organisation_uscc=USCC,
            actor="test",
            **{"seal_type": "contract", **options},  # type: ignore[arg-type]
        )
        return seal.id


def _transparent_png() -> bytes:
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    for x in range(60, 140):
        for y in range(60, 140):
            image.putpixel((x, y), (220, 0, 0, 255))
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_seals_get_a_certificate_an_image_and_a_status_machine(domain: Domain) -> None:
    seal_id = _create(domain)
    uploaded = _create(domain, image_png=_transparent_png(), name="合同章（上传）")
    with domain.keys.database.transaction() as session:
        seal = registry.get(session, seal_id)
        assert (seal.status, seal.image_source, seal.name) == (
            "active",
            "generated",
            ORG + "合同专用章",
        )
        certificate = registry.certificate(session, seal)
        assert certificate.owner == seal_id and certificate.status == "good"
        assert registry.get(session, uploaded).image_source == "uploaded"

    opaque = BytesIO()
    Image.new("RGB", (200, 200), "white").save(opaque, format="PNG")
    for bad in (opaque.getvalue(), b"GIF89a"):
        with pytest.raises(RegistryError):
            _create(domain, image_png=bad)
    with pytest.raises(RegistryError, match="unknown seal type"):
        _create(domain, seal_type="secret")

    hierarchy = domain.keys.hierarchy

    def change(action: str, **options: object) -> str:
        with domain.keys.database.transaction() as session:
            row = getattr(registry, action)(
                session, hierarchy=hierarchy, seal_id=seal_id, actor="test", **options
            )
            return f"{row.status}:{row.key_id}:{row.certificate_serial}"

    active = change("renew")
    key_before = active.split(":")[1]
    assert change("renew", new_key=True).split(":")[1] != key_before
    assert change("suspend").startswith("suspended")
    with pytest.raises(RegistryError):
        change("suspend")
    with pytest.raises(RegistryError):
        change("renew")
    assert change("resume").startswith("active")
    with pytest.raises(RegistryError):
        change("resume")
    revoked = change("revoke")
    with pytest.raises(RegistryError):
        change("resume")
    serial = revoked.split(":")[2]
    with domain.keys.database.transaction() as session:
        certificate = key_repository.certificate_by_serial(session, issuer=SEAL_CA, serial=serial)
        assert certificate is not None and certificate.status == "revoked"
        # Renewals kept older certificates alive; revoking the seal revoked every one of them.
        issued = key_repository.certificates(session, owner=seal_id, kind="seal")
        assert len(issued) == 3 and {c.status for c in issued} == {"revoked"}
        types = session.scalars(
            select(AuditEntry.type).where(AuditEntry.subject == seal_id).order_by(AuditEntry.index)
        ).all()
    assert types == [
        "seal.created",
        "seal.renewed",
        "seal.renewed",
        "seal.suspended",
        "seal.resumed",
        "seal.revoked",
    ]


def test_grants_are_limited_and_counted_atomically(domain: Domain) -> None:
    seal_id = _create(domain)
    now = datetime.now(UTC)
    with domain.keys.database.transaction() as session:
        with pytest.raises(RegistryError):
            grants.create(
                session,
                events=domain.audit,
                seal_id=seal_id,
                client_id="c",
                approved_by="a",
                actor="t",
                not_after=now - timedelta(days=1),
            )
        with pytest.raises(RegistryError):
            grants.create(
                session,
                events=domain.audit,
                seal_id=seal_id,
                client_id="c",
                approved_by="a",
                actor="t",
                max_uses=0,
            )
        with pytest.raises(NoGrant):
            grants.authorise(session, seal_id=seal_id, client_id="c", document_type=None, now=now)
        grant = grants.create(
            session,
            events=domain.audit,
            seal_id=seal_id,
            client_id="c",
            approved_by="a",
            actor="t",
            max_uses=2,
            document_types=["permit", " permit ", ""],
        )
        grant_id = grant.id
        assert grant.document_types == ["permit"]
    with domain.keys.database.transaction() as session:
        with pytest.raises(DocumentTypeNotGranted):
            grants.authorise(session, seal_id=seal_id, client_id="c", document_type="x", now=now)
        assert (
            grants.authorise(
                session, seal_id=seal_id, client_id="c", document_type="permit", now=now
            ).id
            == grant_id
        )
        assert [repository.use_grant(session, grant_id, now=now) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        with pytest.raises(GrantExhausted):
            grants.authorise(
                session, seal_id=seal_id, client_id="c", document_type="permit", now=now
            )
        grants.create(
            session,
            events=domain.audit,
            seal_id=seal_id,
            client_id="d",
            approved_by="a",
            actor="t",
            not_after=now + timedelta(minutes=1),
        )
        with pytest.raises(GrantExpired):
            grants.authorise(
                session,
                seal_id=seal_id,
                client_id="d",
                document_type=None,
                now=now + timedelta(minutes=2),
            )
        grants.revoke(session, events=domain.audit, grant_id=grant_id, actor="t")
        with pytest.raises(RegistryError):
            grants.revoke(session, events=domain.audit, grant_id=grant_id, actor="t")
        assert not repository.use_grant(session, grant_id, now=now)


def test_a_grant_revoked_earlier_in_the_transaction_is_not_used(domain: Domain) -> None:
    seal_id = _create(domain)
    now = datetime.now(UTC)
    with domain.keys.database.transaction() as session:
        grant = grants.create(
            session,
            events=domain.audit,
            seal_id=seal_id,
            client_id="c",
            approved_by="a",
            actor="t",
            max_uses=5,
        )
        assert repository.use_grant(session, grant.id, now=now)
        assert grant.uses == 1  # loaded before the UPDATE, it reads the new count
        grant.status = "revoked"  # not flushed yet
        assert not repository.use_grant(session, grant.id, now=now)
