"""Key status for the platform administrators; rotation and certificate status for the
security administrator only; the dashboard as each administrator may see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from admin import dashboard, key_status
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from audit.models import AuditEntry
from idp.models import LogoutDelivery
from keys import repository as key_repository
from seal import registry
from seal.models import SealApplication, SealGrant
from tests import oidc
from tests.admin import world as w


@pytest.fixture
def world(domain: Any) -> w.World:
    built = w.build(domain)
    with domain.keys.database.transaction() as session:
        for seal_id, uscc, days in (
            ("seal_soon", oidc.USCC, 10),
            ("seal_later", oidc.USCC, 400),
            ("seal_other", oidc.OTHER_USCC, 5),
        ):
            registry.create_seal(
                session,
                hierarchy=domain.keys.hierarchy,
                organisation_name="某某科技有限公司" if uscc == oidc.USCC else "别的公司",
                organisation_uscc=uscc,
                seal_type="official",
                actor="test",
                days=days,
                seal_id=seal_id,
            )
    return built


def _events(world: w.World, type_: str) -> list[AuditEntry]:
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return list(session.scalars(query))


def test_every_platform_administrator_sees_the_key_status(world: w.World) -> None:
    for login in (w.SYSTEM, w.SECURITY, w.AUDIT):
        status = key_status.status(world.admin, world.actor(login))
        states = sorted(k["state"] for k in status["token_signing_keys"])
        assert states == ["active", "next"]
        cas = {ca["name"]: ca for ca in status["certificate_authorities"]}
        assert set(cas) == {"root", "seal", "infra"}
        assert cas["root"]["days_left"] > 365 and cas["root"]["key_online"]
        assert "Root CA" in cas["root"]["subject"]
        expiring = [s["seal_id"] for s in status["seal_certificates_expiring"]]
        assert expiring == ["seal_other", "seal_soon"]  # soonest first; not seal_later
    for login in (w.ORG_ADMIN, w.NOBODY):
        with pytest.raises(Forbidden):
            key_status.status(world.admin, world.actor(login))
    assert {e.actor for e in _events(world, "admin.refused")} == {"person:orgadm", "person:plain"}


def test_crl_freshness(world: w.World) -> None:
    from keys.crl import current_crl

    with world.domain.keys.database.transaction() as session:
        current_crl(session, hierarchy=world.domain.keys.hierarchy, ca_name="seal")
    cas = {
        ca["name"]: ca
        for ca in key_status.status(world.admin, world.actor(w.AUDIT))["certificate_authorities"]
    }
    assert cas["seal"]["crl"]["fresh"] and cas["seal"]["crl"]["this_update"]
    assert cas["seal"]["crl"]["number"] >= 1
    serial = _seal_serial(world, "seal_later")
    key_status.set_certificate_status(
        world.admin, world.actor(w.SECURITY), ca="seal", serial=serial, status="suspended"
    )
    after = {
        ca["name"]: ca
        for ca in key_status.status(world.admin, world.actor(w.AUDIT))["certificate_authorities"]
    }
    assert after["seal"]["crl"]["stale"] and not after["seal"]["crl"]["fresh"]


def test_only_the_security_administrator_rotates(world: w.World) -> None:
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            key_status.rotate_token_keys(world.admin, world.actor(login), force=True)
    security = world.actor(w.SECURITY)
    with pytest.raises(Conflict, match="relying parties cache JWKS"):
        key_status.rotate_token_keys(world.admin, security)
    with pytest.raises(Invalid, match="not a keys operation"):
        key_status.rotate_token_keys(world.admin, security, purpose="root-ca")
    before = key_status.status(world.admin, security)["token_signing_keys"]
    upcoming = next(k["kid"] for k in before if k["state"] == "next")
    rotated = key_status.rotate_token_keys(world.admin, security, force=True)
    assert rotated["active"] == upcoming
    after = {
        k["kid"]: k["state"] for k in key_status.status(world.admin, security)["token_signing_keys"]
    }
    assert after[upcoming] == "active" and after[rotated["next"]] == "next"
    assert "retired" in after.values()
    assert [e.actor for e in _events(world, "key.rotated")] == ["person:sec"]


def _seal_serial(world: w.World, seal_id: str) -> str:
    with world.domain.keys.database.reading() as session:
        (certificate,) = key_repository.certificates(session, owner=seal_id, kind="seal")
        return certificate.serial


def test_certificate_status_changes(world: w.World) -> None:
    serial = _seal_serial(world, "seal_later")
    security = world.actor(w.SECURITY)
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            key_status.set_certificate_status(
                world.admin, world.actor(login), ca="seal", serial=serial, status="revoked"
            )

    def change(status: Any, **options: Any) -> dict[str, Any]:
        return key_status.set_certificate_status(
            world.admin, security, ca="seal", serial=serial, status=status, **options
        )

    with pytest.raises(Conflict, match="not suspended"):
        change("good")
    assert change("suspended")["status"] == "suspended"
    assert change("good")["status"] == "good"
    with pytest.raises(Invalid, match="unknown revocation reason"):
        change("revoked", reason="because")
    revoked = change("revoked", reason="key_compromise")
    assert revoked["status"] == "revoked" and revoked["revocation_reason"] == "key_compromise"
    with pytest.raises(Conflict, match="already revoked"):
        change("suspended")
    with pytest.raises(NotFound):
        key_status.set_certificate_status(
            world.admin, security, ca="seal", serial="abc", status="suspended"
        )
    with pytest.raises(NotFound):
        key_status.set_certificate_status(
            world.admin, security, ca="nope", serial=serial, status="suspended"
        )
    with pytest.raises(Invalid):
        key_status.set_certificate_status(
            world.admin, security, ca="seal", serial="xyz", status="suspended"
        )
    subject = f"seal:{serial}"
    for type_ in ("certificate.suspended", "certificate.reinstated", "certificate.revoked"):
        assert [(e.actor, e.subject) for e in _events(world, type_)] == [("person:sec", subject)]


def _pending_work(world: w.World) -> None:
    """A failed logout delivery, a pending grant of the organisation's seal and a pending
    application of another organisation (rows as their packages write them)."""
    now = datetime.now(UTC)
    with world.domain.keys.database.transaction() as session:
        session.add(
            LogoutDelivery(
                id="lod_failed",
                client_id="permits",
                user_id="u",
                sid="s",
                uri="https://rp.example/bcl",
                status="failed",
                attempts=3,
                last_error="connection refused",
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            SealGrant(
                id="grant_pending",
                seal_id="seal_soon",
                client_id="permits",
                requested_by="person:orgadm",
                status="pending",
                created_at=now,
            )
        )
        session.add(
            SealApplication(
                id="app_pending",
                organisation_uscc=oidc.OTHER_USCC,
                organisation_name="别的公司",
                type="contract",
                status="pending",
                applicant="person:someone",
                created_at=now,
            )
        )


def test_the_dashboard_for_each_administrator(world: w.World) -> None:
    _pending_work(world)
    audit = dashboard.view(world.admin, world.actor(w.AUDIT))
    assert audit["scope"] == "platform"
    counts = audit["counts"]
    assert counts["people"] == 5 and counts["organisations"] == 1
    assert counts["seals"] == {"active": 3, "suspended": 0, "revoked": 0}
    assert counts["pending_seal_applications"] == 1 and counts["pending_grants"] == 1
    assert counts["failed_logout_deliveries"] == 1
    (failed,) = audit["failed_logout_deliveries"]
    assert failed["client_id"] == "permits" and failed["last_error"] == "connection refused"
    assert [s["seal_id"] for s in audit["seals_expiring"]] == ["seal_other", "seal_soon"]
    assert audit["ca_certificates_expiring"] == []
    recent = [e["index"] for e in audit["recent_events"]]
    with world.domain.keys.database.reading() as session:
        newest = int(session.scalar(select(func.max(AuditEntry.index))) or 0)
    assert recent == list(range(newest, newest - dashboard.RECENT_EVENTS, -1))
    for login in (w.SYSTEM, w.SECURITY):
        board = dashboard.view(world.admin, world.actor(login))
        assert board["scope"] == "platform" and "recent_events" not in board
        assert board["counts"] == counts
    organisation = dashboard.view(world.admin, world.actor(w.ORG_ADMIN))
    assert organisation["scope"] == "organisations" and "counts" not in organisation
    (own,) = organisation["organisations"]
    assert own["uscc"] == oidc.USCC and own["counts"]["members"] == 1
    assert own["counts"]["seals"] == {"active": 2, "suspended": 0, "revoked": 0}
    assert own["counts"]["pending_grants"] == 1 and own["counts"]["pending_seal_applications"] == 0
    assert [s["seal_id"] for s in own["seals_expiring"]] == ["seal_soon"]
    with pytest.raises(Forbidden):
        dashboard.view(world.admin, world.actor(w.NOBODY))
    assert [e.actor for e in _events(world, "admin.refused")] == ["person:plain"]
