"""The admin test world with seals: a second organisation with its own administrator
(``other``), a certificate system owned by the first organisation, and seals made through
the rule book (filed by an organisation administrator, approved by the security one)."""

from __future__ import annotations

from io import BytesIO

from PIL import Image
from sqlalchemy import select

from admin import seal_applications
from audit.models import AuditEntry
from tests import oidc
from tests.admin import world as w

OTHER, OTHER_USCC, OTHER_NAME = "other", "11350100MB0020003P", "通行市住房和城乡建设局"
CERTSYS = "certsys"


def build(domain: object) -> w.World:
    """``w.build`` plus the other organisation and a certificate system owned by the first."""
    built = w.build(domain)  # type: ignore[arg-type]
    oidc.add_person(built.domain, OTHER, name=OTHER, proofing_level=4, second_factor=True)
    oidc.add_organisation(built.domain, member=OTHER, uscc=OTHER_USCC, name=OTHER_NAME)
    w.service_account(built.domain, CERTSYS, scopes=["seal:sign"], owner=built.organisation_id)
    return built


def organisation_id(world: w.World, uscc: str) -> str:
    """The id of the organisation ``uscc`` (what an org:admin token carries)."""
    from idp import repository

    with world.domain.keys.database.reading() as session:
        found = repository.organisation(session, uscc)
        assert found is not None
        return found.id


def make_seal(world: w.World, *, applicant: str = w.ORG_ADMIN, uscc: str = oidc.USCC) -> str:
    """A seal of ``uscc``: filed by ``applicant``, approved by the security administrator."""
    filed = seal_applications.apply(
        world.admin, world.actor(applicant), organisation=uscc, seal_type="contract"
    )
    approved = seal_applications.approve(
        world.admin, world.actor(w.SECURITY), application_id=filed["id"]
    )
    seal_id: str = approved["seal_id"]
    return seal_id


def transparent_png() -> bytes:
    """A small red square on a transparent background."""
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    for x in range(60, 140):
        for y in range(60, 140):
            image.putpixel((x, y), (220, 0, 0, 255))
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def events(world: w.World, type_: str) -> list[AuditEntry]:
    """The audit entries of one type, in log order."""
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return list(session.scalars(query))
