"""The rule book of seal applications, seals and grants, on both databases: who files, who
decides (four eyes), who changes which seal, and when a grant may seal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from admin import grants, seal_applications, seals, versions
from admin.errors import (
    Conflict,
    Forbidden,
    Invalid,
    PreconditionFailed,
    SecondPersonNeeded,
)
from idp import accounts
from seal import grants as seal_grants
from seal.errors import NoGrant
from tests import oidc
from tests.admin import seal_world as sw
from tests.admin import world as w


@pytest.fixture
def world(domain: Any) -> w.World:
    return sw.build(domain)


def _refusals(world: w.World, action: str) -> list[str]:
    return [e.actor for e in sw.events(world, "admin.refused") if e.subject == action]


def test_only_the_organisation_admin_files_for_their_organisation(world: w.World) -> None:
    for login in (w.NOBODY, w.SYSTEM, w.SECURITY, sw.OTHER):
        with pytest.raises(Forbidden):
            seal_applications.apply(
                world.admin, world.actor(login), organisation=oidc.USCC, seal_type="contract"
            )
    assert _refusals(world, "seal_applications.file") == [
        "person:plain",
        "person:sys",
        "person:sec",
        "person:other",
    ]
    with pytest.raises(Invalid):
        seal_applications.apply(
            world.admin, world.actor(w.ORG_ADMIN), organisation=oidc.USCC, seal_type="stamp"
        )
    filed = seal_applications.apply(
        world.admin,
        world.actor(w.ORG_ADMIN),
        organisation=world.organisation_id,
        seal_type="contract",
        name="某某科技有限公司合同专用章",
    )
    assert filed["status"] == "pending" and filed["applicant"] == "person:orgadm"
    assert filed["image"] == "generated" and filed["seal_id"] is None
    [event] = sw.events(world, "seal.application.filed")
    assert (event.actor, event.subject) == ("person:orgadm", filed["id"])


def test_a_security_admin_other_than_the_applicant_approves(world: w.World) -> None:
    filed = seal_applications.apply(
        world.admin, world.actor(w.ORG_ADMIN), organisation=oidc.USCC, seal_type="official"
    )
    # A system administrator cannot approve a seal; nor the auditor, nor the applicant.
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            seal_applications.approve(world.admin, world.actor(login), application_id=filed["id"])
    approved = seal_applications.approve(
        world.admin, world.actor(w.SECURITY), application_id=filed["id"]
    )
    assert approved["status"] == "approved" and approved["decided_by"] == "person:sec"
    seal = seals.seal(world.admin, world.actor(w.ORG_ADMIN), approved["seal_id"])
    assert seal["status"] == "active" and seal["uscc"] == oidc.USCC and seal["type"] == "official"
    [created] = sw.events(world, "seal.created")
    assert (created.actor, created.subject) == ("person:sec", approved["seal_id"])
    with pytest.raises(Conflict):
        seal_applications.approve(world.admin, world.actor(w.SECURITY), application_id=filed["id"])


def test_the_applicant_never_decides_their_own_application(world: w.World) -> None:
    # The security administrator also administers the organisation and files for it.
    with world.domain.keys.database.transaction() as session:
        accounts.add_member(
            session,
            events=world.domain.audit,
            organisation=oidc.USCC,
            login=w.SECURITY,
            role="admin",
            actor="test",
        )
    filed = seal_applications.apply(
        world.admin, world.actor(w.SECURITY), organisation=oidc.USCC, seal_type="finance"
    )
    with pytest.raises(SecondPersonNeeded):
        seal_applications.approve(world.admin, world.actor(w.SECURITY), application_id=filed["id"])
    with pytest.raises(SecondPersonNeeded):
        seal_applications.reject(
            world.admin, world.actor(w.SECURITY), application_id=filed["id"], reason="no"
        )
    assert _refusals(world, "seal_applications.approve") == ["person:sec"]
    assert seal_applications.application(world.admin, world.actor(w.AUDIT), filed["id"])[
        "status"
    ] == ("pending")
    assert seals.seals(world.admin, world.actor(w.AUDIT))["items"] == []


def test_uploaded_images_are_checked_and_rejections_need_a_reason(world: w.World) -> None:
    org_admin = world.actor(w.ORG_ADMIN)
    with pytest.raises(Invalid, match="PNG"):
        seal_applications.apply(
            world.admin,
            org_admin,
            organisation=oidc.USCC,
            seal_type="contract",
            image_png=b"GIF89a not a png",
        )
    filed = seal_applications.apply(
        world.admin,
        org_admin,
        organisation=oidc.USCC,
        seal_type="contract",
        image_png=sw.transparent_png(),
    )
    assert filed["image"] == "uploaded"
    assert seal_applications.image(world.admin, org_admin, filed["id"]).startswith(b"\x89PNG")
    with pytest.raises(Invalid):
        seal_applications.reject(
            world.admin, world.actor(w.SECURITY), application_id=filed["id"], reason="  "
        )
    stale = versions.etag(filed)
    rejected = seal_applications.reject(
        world.admin,
        world.actor(w.SECURITY),
        application_id=filed["id"],
        reason="图样不清晰 the image is blurred",
        if_match=stale,
    )
    assert rejected["status"] == "rejected" and rejected["seal_id"] is None
    with pytest.raises(Conflict):
        seal_applications.approve(world.admin, world.actor(w.SECURITY), application_id=filed["id"])


def test_the_inbox_lists_pending_first_and_pages(world: w.World) -> None:
    org_admin = world.actor(w.ORG_ADMIN)
    ids = [
        seal_applications.apply(world.admin, org_admin, organisation=oidc.USCC, seal_type=kind)[
            "id"
        ]
        for kind in ("contract", "finance", "invoice")
    ]
    seal_applications.reject(
        world.admin, world.actor(w.SECURITY), application_id=ids[0], reason="duplicate"
    )
    seen, cursor = [], None
    while True:
        page = seal_applications.inbox(world.admin, world.actor(w.SECURITY), limit=1, cursor=cursor)
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[1], ids[2], ids[0]]
    # The other organisation's administrator sees none of them.
    assert seal_applications.inbox(world.admin, world.actor(sw.OTHER))["items"] == []
    with pytest.raises(Forbidden):
        seal_applications.application(world.admin, world.actor(sw.OTHER), ids[1])
    with pytest.raises(Forbidden):
        seal_applications.inbox(world.admin, world.actor(w.NOBODY))
    with pytest.raises(Invalid):
        seal_applications.inbox(world.admin, world.actor(w.SECURITY), cursor="bm90IGEga2V5")


def test_who_may_change_which_seal(world: w.World) -> None:
    own = sw.make_seal(world)
    theirs = sw.make_seal(world, applicant=sw.OTHER, uscc=sw.OTHER_USCC)
    org_admin = world.actor(w.ORG_ADMIN)
    assert [s["id"] for s in seals.seals(world.admin, org_admin)["items"]] == [own]
    assert [s["id"] for s in seals.seals(world.admin, world.actor(w.AUDIT))["items"]] == [
        own,
        theirs,
    ]
    # An organisation administrator never touches another organisation's seal.
    with pytest.raises(Forbidden):
        seals.seal(world.admin, org_admin, theirs)
    with pytest.raises(Forbidden):
        seals.suspend(world.admin, org_admin, seal_id=theirs)
    # They may suspend their own (only suspend).
    assert seals.suspend(world.admin, org_admin, seal_id=own)["status"] == "suspended"
    with pytest.raises(Forbidden):
        seals.resume(world.admin, org_admin, seal_id=own)
    for login in (w.SYSTEM, w.AUDIT):
        with pytest.raises(Forbidden):
            seals.resume(world.admin, world.actor(login), seal_id=own)
        with pytest.raises(Forbidden):
            seals.suspend(world.admin, world.actor(login), seal_id=theirs)
    security = world.actor(w.SECURITY)
    read = seals.seal(world.admin, security, own)
    resumed = seals.resume(world.admin, security, seal_id=own, if_match=versions.etag(read))
    assert resumed["status"] == "active"
    [event] = sw.events(world, "seal.resumed")
    assert event.actor == "person:sec"
    # A stale version is refused; the current one goes through.
    with pytest.raises(PreconditionFailed):
        seals.revoke(world.admin, security, seal_id=own, if_match=versions.etag(read))
    renewed = seals.renew(world.admin, security, seal_id=own, if_match=versions.etag(resumed))
    assert renewed["certificate_serial"] != resumed["certificate_serial"]
    with pytest.raises(Invalid):
        seals.revoke(world.admin, security, seal_id=own, reason="bored")
    assert seals.revoke(world.admin, security, seal_id=own, reason="key_compromise")["status"] == (
        "revoked"
    )
    with pytest.raises(Conflict):
        seals.suspend(world.admin, security, seal_id=own)
    assert seals.certificate(world.admin, org_admin, own).startswith(b"-----BEGIN CERTIFICATE")
    assert seals.image(world.admin, org_admin, own).startswith(b"\x89PNG")


def _authorised(world: w.World, seal_id: str) -> bool:
    with world.domain.keys.database.reading() as session:
        try:
            seal_grants.authorise(
                session,
                seal_id=seal_id,
                client_id=sw.CERTSYS,
                document_type="permit",
                now=datetime.now(UTC),
            )
        except NoGrant:
            return False
        return True


def test_a_grant_is_requested_then_approved_by_the_seals_organisation(world: w.World) -> None:
    # The certificate system belongs to the first organisation; the seal to the other.
    seal_id = sw.make_seal(world, applicant=sw.OTHER, uscc=sw.OTHER_USCC)
    until = datetime.now(UTC) + timedelta(days=30)
    for login in (w.NOBODY, w.SECURITY, w.AUDIT, sw.OTHER):
        with pytest.raises(Forbidden):
            grants.request(world.admin, world.actor(login), seal_id=seal_id, client_id=sw.CERTSYS)
    asked = grants.request(
        world.admin,
        world.actor(w.ORG_ADMIN),
        seal_id=seal_id,
        client_id=sw.CERTSYS,
        until=until,
        max_uses=10,
        document_types=["permit", "licence"],
    )
    assert asked["status"] == "pending" and asked["requested_by"] == "person:orgadm"
    assert not _authorised(world, seal_id)  # a pending grant seals nothing
    # Only an administrator of the seal's organisation approves: not the requester's side.
    for login in (w.ORG_ADMIN, w.SYSTEM, w.SECURITY):
        with pytest.raises(Forbidden):
            grants.approve(world.admin, world.actor(login), grant_id=asked["id"])
    other = world.actor(sw.OTHER)
    with pytest.raises(Invalid):  # never wider than asked
        grants.approve(world.admin, other, grant_id=asked["id"], max_uses=11)
    with pytest.raises(Invalid):
        grants.approve(world.admin, other, grant_id=asked["id"], document_types=["tax"])
    with pytest.raises(Invalid):
        grants.approve(world.admin, other, grant_id=asked["id"], until=until + timedelta(days=1))
    with pytest.raises(PreconditionFailed):
        grants.approve(world.admin, other, grant_id=asked["id"], if_match='"stale"')
    approved = grants.approve(
        world.admin,
        other,
        grant_id=asked["id"],
        max_uses=5,
        document_types=["permit"],
        if_match=versions.etag(asked),
    )
    assert approved["status"] == "active" and approved["approved_by"] == "person:other"
    assert (approved["max_uses"], approved["document_types"]) == (5, ["permit"])
    assert approved["until"] == asked["until"]
    assert _authorised(world, seal_id)
    with pytest.raises(Conflict):
        grants.approve(world.admin, other, grant_id=asked["id"])
    # Revoked by the seal's organisation or the security administrator, nobody else.
    for login in (w.ORG_ADMIN, w.SYSTEM, w.AUDIT):
        with pytest.raises(Forbidden):
            grants.revoke(world.admin, world.actor(login), grant_id=asked["id"])
    assert grants.revoke(world.admin, other, grant_id=asked["id"])["status"] == "revoked"
    assert not _authorised(world, seal_id)
    with pytest.raises(Conflict):
        grants.revoke(world.admin, world.actor(w.SECURITY), grant_id=asked["id"])
    types = [e.type for e in sw.events(world, "seal.grant.revoked")]
    assert types == ["seal.grant.revoked"]


def test_grant_requests_rejections_and_visibility(world: w.World) -> None:
    own = sw.make_seal(world)
    theirs = sw.make_seal(world, applicant=sw.OTHER, uscc=sw.OTHER_USCC)
    # The system administrator may ask for any client; the client must be able to seal.
    by_system = grants.request(
        world.admin, world.actor(w.SYSTEM), seal_id=own, client_id=sw.CERTSYS
    )
    w.add_console(world.domain)  # a relying party: it cannot get seal:sign tokens
    with pytest.raises(Invalid):
        grants.request(world.admin, world.actor(w.SYSTEM), seal_id=own, client_id=w.CONSOLE)
    with pytest.raises(Invalid):
        grants.request(
            world.admin,
            world.actor(w.SYSTEM),
            seal_id=own,
            client_id=sw.CERTSYS,
            until=datetime.now(UTC) - timedelta(days=1),
        )
    to_other = grants.request(
        world.admin, world.actor(w.ORG_ADMIN), seal_id=theirs, client_id=sw.CERTSYS
    )
    with pytest.raises(Forbidden):
        grants.reject(world.admin, world.actor(w.ORG_ADMIN), grant_id=to_other["id"], reason="x")
    rejected = grants.reject(
        world.admin, world.actor(sw.OTHER), grant_id=to_other["id"], reason="不需要 not needed"
    )
    assert rejected["status"] == "rejected"
    with pytest.raises(Conflict):
        grants.revoke(world.admin, world.actor(w.SECURITY), grant_id=to_other["id"])
    # The other organisation sees the grant of its seal, not the one of the first's seal.
    assert [g["id"] for g in grants.grants(world.admin, world.actor(sw.OTHER))["items"]] == [
        to_other["id"]
    ]
    with pytest.raises(Forbidden):
        grants.grant(world.admin, world.actor(sw.OTHER), by_system["id"])
    # The first organisation sees both: its seal's, and its client's; pending first.
    listed = grants.grants(world.admin, world.actor(w.ORG_ADMIN))["items"]
    assert [g["id"] for g in listed] == [by_system["id"], to_other["id"]]
    assert grants.grants(world.admin, world.actor(w.AUDIT), status="rejected")["items"] == [
        rejected
    ]
