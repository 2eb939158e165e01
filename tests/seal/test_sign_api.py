"""``/seal/v1/sign`` and ``/seal/v1/verify`` over HTTP, in both storage configurations."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from core.api.deps import runtime_of
from seal.idempotency import IdempotencyKeys
from seal.runtime import SealingService
from tests.audit.stored_log import verify_stored
from tests.seal.world import World, make_world
from tongxing.demo_sealing import sample_permit


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def test_every_level_seals_verifies_and_is_logged(world: World) -> None:
    for level in ("B-B", "B-T", "B-LT", "B-LTA"):
        answer = world.sign(level=level, reason="审批通过", location="通行市")
        assert answer.status_code == 200, answer.text
        assert answer.content.startswith(b"%PDF-")
        document_id = answer.headers["tongxing-document-id"]
        index = int(answer.headers["tongxing-audit-index"])
        timing = answer.headers["server-timing"]
        assert all(f"{stage};dur=" in timing for stage in ("parse", "stamp", "sign", "log"))

        report = world.verify(answer.content)
        assert report["indication"] == "TOTAL_PASSED", report
        (signature,) = report["signatures"]
        assert signature["level"] == level
        assert signature["document_id"] == document_id
        assert signature["seal"]["id"] == world.seal_id
        assert signature["seal"]["organisation"] == "通行市住房和城乡建设局"
        assert signature["signer"]["subject"]["organization_identifier"].startswith("NTRCN-")
        assert [c["cn"] for c in signature["chain"]][:2] == ["Tongxing Root CA", "Tongxing Seal CA"]
        assert signature["revocation"]["status"] == "good"
        assert signature["integrity"]["intact"] and signature["integrity"]["valid"]
        assert (signature["timestamp"] is None) == (level == "B-B")
        expected = "none" if level in ("B-B", "B-T") else "revocation_data"
        assert signature["changes_after_sealing"] == expected
        audit = signature["audit_log"]
        assert audit["recorded"] and audit["verified"] and audit["index"] == index

        record = world.client.get(f"/seal/v1/documents/{document_id}").json()
        assert record["audit_log"]["verified"] and record["level"] == level
    assert world.sealings_logged() == 4 and world.uses() == 4
    image = world.client.get(f"/seal/v1/seals/{world.seal_id}/image")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert world.client.get("/seal/v1/documents/doc_nothing").status_code == 404


def _flip_inside_signed_content(pdf: bytes) -> bytes:
    position = pdf.index(b"stream", len(pdf) // 10) + 20  # inside the first page's stream
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


def _replace_page(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    fake = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (FORGED) Tj ET")
    page[pdf_name("/Contents")] = writer.add_object(fake)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _annotate(pdf: bytes) -> bytes:
    """A comment added afterwards by another tool (pypdf, as an incremental update)."""
    import pypdf
    from pypdf.annotations import Text

    writer = pypdf.PdfWriter(BytesIO(pdf), incremental=True)
    writer.add_annotation(0, Text(rect=(50, 50, 70, 70), text="looks fine"))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_tampering_and_seal_status_show_in_the_report(world: World) -> None:
    sealed = world.sign().content
    flipped = world.verify(_flip_inside_signed_content(sealed))["signatures"][0]
    assert (flipped["indication"], flipped["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert flipped["audit_log"] == {"recorded": False}

    replaced = world.verify(_replace_page(sealed))["signatures"][0]
    assert (replaced["indication"], replaced["sub_indication"]) == (
        "TOTAL_FAILED",
        "FORMAT_FAILURE",
    )
    assert replaced["changes_after_sealing"] == "other"
    assert replaced["integrity"]["intact"]  # the sealed revision itself is untouched
    annotated = world.verify(_annotate(sealed))["signatures"][0]
    assert annotated["indication"] == "TOTAL_FAILED"
    assert annotated["changes_after_sealing"] == "annotations"

    world.set_status("suspend")
    held = world.verify(sealed)["signatures"][0]
    assert (held["indication"], held["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    assert held["revocation"]["status"] == "on_hold"
    refused = world.sign()
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:seal-not-active"
    world.set_status("resume")
    assert world.verify(sealed)["indication"] == "TOTAL_PASSED"
    time.sleep(1.1)  # revocation times are whole seconds
    world.set_status("revoke")
    revoked = world.verify(sealed)["signatures"][0]
    assert (revoked["indication"], revoked["sub_indication"]) == ("TOTAL_FAILED", "REVOKED")
    assert revoked["revocation"]["sealed_before_revocation"] is True
    assert world.sealings_logged() == 1


def _encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=BytesIO(sample_permit()))
    writer.encrypt("owner-and-user")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_refusals_are_precise_and_seal_nothing(world: World) -> None:
    good = sample_permit()
    cases = {
        "no token": (dict(token="-"), 401, "invalid-token"),
        "other scope": (dict(token=world.token(scope="audit:read", audience="/audit")), 401, None),
        "other audience": (dict(token=world.token(audience="/audit")), 401, "invalid-token"),
        "unknown seal": (dict(seal_id="seal_unknown"), 403, "no-grant"),  # reveals nothing
        "no grant": (dict(token=world.token(client_id="someone-else")), 403, "no-grant"),
        "not a pdf": (dict(pdf=b"\x89PNG\r\n\x1a\n" + b"\0" * 100), 415, "not-a-pdf"),
        "truncated": (dict(pdf=good[: len(good) // 2]), 422, "malformed-pdf"),
        "encrypted": (dict(pdf=_encrypted_pdf()), 422, "encrypted-pdf"),
        "anchor not found": (dict(anchor="（签字）"), 422, "anchor-not-found"),
        "page out of range": (dict(anchor=None, page=9, x=100, y=100), 422, "page-out-of-range"),
        "point off the page": (dict(anchor=None, page=1, x=9000, y=100), 422, "invalid-placement"),
        "two placements": (dict(page=1, x=100, y=100), 422, "invalid-placement"),
        "bad level": (dict(level="B-X"), 422, "invalid-seal-request"),
        "bad size": (dict(size_mm=5), 422, "invalid-seal-request"),
        "cross-page on one page": (dict(cross_page="true"), 422, "invalid-seal-request"),
        "no such field": (dict(anchor=None, field="Signature9"), 422, "signature-field-unusable"),
    }
    for name, (fields, status, kind) in cases.items():
        pdf = fields.pop("pdf", None)
        token = fields.pop("token", None)
        answer = world.sign(pdf, token=token, **fields)
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", name
        if kind:
            assert answer.json()["type"] == f"urn:tongxing:problem:{kind}", (name, answer.json())
    wrong_scope = world.sign(token=world.token(scope="audit:read"))
    assert wrong_scope.status_code == 403
    assert 'error="insufficient_scope"' in wrong_scope.headers["www-authenticate"]
    assert world.sealings_logged() == 0 and world.uses() == 0

    # Grant limits: used up, expired, other document types.
    world.add_grant(max_uses=1)
    assert world.sign().status_code == 200
    used_up = world.sign()
    assert used_up.json()["type"] == "urn:tongxing:problem:grant-exhausted"
    world.add_grant(not_after=datetime.now(UTC) + timedelta(seconds=1))
    with world.domain.keys.database.transaction() as session:
        from seal import repository

        grant = repository.grant(session, world.grant_id)
        assert grant is not None
        grant.not_after = datetime.now(UTC) - timedelta(seconds=1)
    assert world.sign().json()["type"] == "urn:tongxing:problem:grant-expired"
    world.add_grant(document_types=["construction-permit"])
    other = world.sign(document_type="housing-certificate")
    assert other.json()["type"] == "urn:tongxing:problem:document-type-not-granted"
    assert world.sign(document_type="construction-permit").status_code == 200
    assert world.sealings_logged() == 2


def test_an_idempotency_key_seals_once(world: World) -> None:
    first = world.sign(headers={"Idempotency-Key": "case-2026-0001"})
    again = world.sign(headers={"Idempotency-Key": "case-2026-0001"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["tongxing-document-id"] == first.headers["tongxing-document-id"]
    assert again.headers["idempotency-replayed"] == "true"
    assert world.sealings_logged() == 1 and world.uses() == 1
    reused = world.sign(headers={"Idempotency-Key": "case-2026-0001"}, level="B-B")
    assert reused.status_code == 422
    assert reused.json()["type"] == "urn:tongxing:problem:idempotency-key-reused"
    # A request still running with the key: a retry waits instead of sealing twice.
    service = runtime_of(world.client.app).get(SealingService)
    keys = IdempotencyKeys(service.store, ttl_seconds=60)
    assert keys.begin(client_id="permit-system", key="case-2026-0002", fingerprint="x") is None
    busy = world.sign(headers={"Idempotency-Key": "case-2026-0002"})
    assert busy.status_code == 409
    # A failed request frees its key for the corrected retry.
    bad = world.sign(b"not a pdf", headers={"Idempotency-Key": "case-2026-0003"})
    assert bad.status_code == 415
    assert world.sign(headers={"Idempotency-Key": "case-2026-0003"}).status_code == 200
    assert world.sealings_logged() == 2
    # Should the store forget a key (eviction, a flush), the database still refuses to seal
    # twice under it.
    service.store.delete(keys._key("permit-system", "case-2026-0003"))
    forgotten = world.sign(headers={"Idempotency-Key": "case-2026-0003"})
    assert forgotten.status_code == 409, forgotten.text
    assert world.sealings_logged() == 2 and world.uses() == 2


def test_the_database_refuses_a_second_sealing_under_one_idempotency_key(world: World) -> None:
    """Below the store's idempotency record, the sealing's own row (one Core INSERT) is
    unique per client and key: a second sealing under the key, whatever the store
    remembers, is refused in its transaction and leaves no entry, row or use behind."""
    from seal.errors import IdempotencyConflict
    from seal.placement import PlacementRequest
    from seal.sealing import SealingRequest, seal_document
    from tests.seal.world import CLIENT_ID

    service = runtime_of(world.client.app).get(SealingService)  # type: ignore[arg-type]
    request = SealingRequest(
        seal_id=world.seal_id, placement=PlacementRequest(anchor="（盖章）"), level="B-B"
    )

    def seal() -> Any:
        return seal_document(
            service,
            client_id=CLIENT_ID,
            request=request,
            data=sample_permit(),
            idempotency_key="k" * 64,
        )

    first = seal()
    with pytest.raises(IdempotencyConflict):
        seal()
    assert world.sealings_logged() == 1 and world.uses() == 1
    with world.domain.keys.database.reading() as session:
        from seal import repository

        row = repository.sealed_document(session, first.document_id)
        assert row is not None and row.audit_index == first.audit_index
        assert row.details == {"cross_page": False, "qr": True} and row.level == "B-B"


def test_a_batch_reports_each_document(world: World) -> None:
    items = [
        {"seal_id": world.seal_id, "anchor": "（盖章）"},
        {"seal_id": world.seal_id, "anchor": "（盖章）"},
        {"seal_id": world.seal_id, "anchor": "（盖章）", "cross_page": True, "level": "B-B"},
        {"seal_id": world.seal_id},
    ]
    answer = world.client.post(
        "/seal/v1/batch",
        headers={"Authorization": f"Bearer {world.token()}"},
        files=[
            ("files", ("a.pdf", sample_permit(), "application/pdf")),
            ("files", ("b.pdf", b"%PDF-1.7 garbage", "application/pdf")),
            ("files", ("c.pdf", sample_permit(pages=3), "application/pdf")),
            ("files", ("d.pdf", sample_permit(), "application/pdf")),
        ],
        data={"items": json.dumps(items)},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["status"] for r in body["results"]] == [200, 422, 200, 422]
    assert (body["sealed"], body["failed"]) == (2, 2)
    assert body["results"][1]["problem"]["type"] == "urn:tongxing:problem:malformed-pdf"
    assert body["results"][3]["problem"]["type"] == "urn:tongxing:problem:invalid-placement"
    for result in (body["results"][0], body["results"][2]):
        report = world.verify(base64.b64decode(result["pdf"]))
        assert report["indication"] == "TOTAL_PASSED"
        assert report["signatures"][0]["document_id"] == result["document_id"]
    assert world.sealings_logged() == 2
    mismatched = world.client.post(
        "/seal/v1/batch",
        headers={"Authorization": f"Bearer {world.token()}"},
        files=[("files", ("a.pdf", sample_permit(), "application/pdf"))],
        data={"items": "[]"},
    )
    assert mismatched.status_code == 422


def _with_empty_field(pdf: bytes) -> bytes:
    from pyhanko.sign import fields

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    fields.append_signature_field(
        writer, fields.SigFieldSpec("Approval", on_page=0, box=(380, 80, 500, 200))
    )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_existing_field_and_a_second_seal(world: World) -> None:
    prepared = _with_empty_field(sample_permit())
    first = world.sign(prepared, anchor=None, field="Approval")
    assert first.status_code == 200, first.text
    report = world.verify(first.content)
    assert report["indication"] == "TOTAL_PASSED"
    assert report["signatures"][0]["field"] == "Approval"
    filled = world.sign(first.content, anchor=None, field="Approval")
    assert filled.json()["type"] == "urn:tongxing:problem:signature-field-unusable"
    # A second seal on the sealed document: adding a signature is form filling.
    second = world.sign(first.content, anchor=None, page=1, x=150, y=150)
    assert second.status_code == 200, second.text
    both = world.verify(second.content)
    assert [s["indication"] for s in both["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    assert both["signatures"][0]["changes_after_sealing"] == "form_filling"
    assert (
        world.sign(first.content, anchor=None, page=1, x=150, y=150, cross_page="true").status_code
        == 422
    )


def test_the_sealing_api_is_documented(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    sign = schema["paths"]["/seal/v1/sign"]["post"]
    assert "multipart/form-data" in sign["requestBody"]["content"]
    assert {"200", "401", "403", "409", "413", "415", "422"} <= set(sign["responses"])
    assert "application/pdf" in sign["responses"]["200"]["content"]
    for path in ("/seal/v1/batch", "/seal/v1/verify", "/seal/v1/documents/{document_id}"):
        assert path in schema["paths"]


def test_checks_remembered_before_the_work_are_repeated_when_it_is_recorded(world: World) -> None:
    """A certificate revoked behind the registry's back (``keys revoke``) right after a
    sealing: the next sealing, whose pre-checks come from the per-process memory, is still
    refused by the checks in the sealing transaction, and nothing is logged."""
    from keys.certificate_status import set_status
    from keys.hierarchy import SEAL_CA
    from seal import registry

    assert world.sign().status_code == 200
    with world.domain.keys.database.transaction() as session:
        serial = registry.get(session, world.seal_id).certificate_serial
        set_status(
            session,
            hierarchy=world.domain.keys.hierarchy,
            issuer=SEAL_CA,
            serial=serial,
            status="revoked",
            actor="test",
            reason="key_compromise",
        )
    refused = world.sign()
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:certificate-revoked"
    assert world.sealings_logged() == 1 and world.uses() == 1


@pytest.mark.parametrize(
    ("change", "refusal"),
    [("suspend", "seal-not-active"), ("revoke", "seal-not-active"), ("lapse", "seal-expired")],
)
def test_a_seal_changed_after_the_remembered_checks_is_refused_when_recorded(
    world: World, change: str, refusal: str
) -> None:
    """The sealing transaction re-checks the seal in one statement (``seal_state``); a seal
    suspended, revoked or past its window since the checks the process remembers is still
    refused there with the precise reason, and nothing is logged or counted."""
    from datetime import UTC, datetime, timedelta

    from seal import registry

    assert world.sign().status_code == 200
    if change == "lapse":
        with world.domain.keys.database.transaction() as session:
            registry.get(session, world.seal_id).valid_until = datetime.now(UTC) - timedelta(
                seconds=1
            )
    else:
        world.set_status(change)
    refused = world.sign()
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == f"urn:tongxing:problem:{refusal}"
    assert world.sealings_logged() == 1 and world.uses() == 1


def test_the_recorded_re_check_locks_the_seal_and_matches_only_its_own_certificate(
    world: World,
) -> None:
    """``seal_state`` locks the seal row on PostgreSQL as ``_check_seal`` did (a suspension
    in progress is waited for, not overtaken), and finds nothing for a certificate serial
    that is not the seal's."""
    from sqlalchemy.dialects import postgresql

    from seal import registry
    from seal.repository import _SEAL_STATE, seal_state

    sql = str(_SEAL_STATE.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert sql.endswith("FOR UPDATE OF seals")
    with world.domain.keys.database.transaction() as session:
        serial = registry.get(session, world.seal_id).certificate_serial
        state = seal_state(session, world.seal_id, serial=serial)
        assert state is not None and (state[0], state[3]) == ("active", "good")
        assert seal_state(session, world.seal_id, serial="00") is None
        assert seal_state(session, "seal_nobody", serial=serial) is None


def test_a_seal_issued_is_handed_over_when_its_result_cannot_be_remembered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.store import StoreUnavailable
    from seal.idempotency import IdempotencyKeys

    def store_down(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("Redis went away after the sealing was recorded")

    monkeypatch.setattr(IdempotencyKeys, "complete", store_down)
    answer = world.sign(headers={"Idempotency-Key": "case-store-down"})
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"%PDF-")
    assert world.sealings_logged() == 1
    retry = world.sign(headers={"Idempotency-Key": "case-store-down"})
    assert retry.status_code == 409  # never sealed twice
    assert world.sealings_logged() == 1


def test_sealings_in_flight_are_logged_together_and_a_refused_one_loses_nobody_else(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six sealings wait behind a commit in progress and are then recorded in one
    transaction; the grant has uses for five, so one is refused there, inside the group:
    the five others are issued, logged with consecutive indexes under one checkpoint, and
    the log verifies."""
    import threading

    from sqlalchemy import func, select

    from audit.models import AuditCheckpoint

    world.add_grant(max_uses=5)
    service = runtime_of(world.client.app).get(SealingService)  # type: ignore[arg-type]
    group = service.group_commit
    holding, release = threading.Event(), threading.Event()
    commit = group._commit

    def held_before_its_transaction(units: list[Any]) -> None:
        # The first group waits before it begins (on SQLite a transaction held open would
        # keep the sealings from their own reads): the six queue up behind it meanwhile.
        if not holding.is_set():
            holding.set()
            assert release.wait(60)
        commit(units)

    monkeypatch.setattr(group, "_commit", held_before_its_transaction)
    opener = threading.Thread(target=group.run, args=(lambda _session: None,))
    opener.start()
    assert holding.wait(30)
    token = world.token()
    answers: list[object] = [None] * 6

    def seal(position: int) -> None:
        answers[position] = world.sign(token=token, level="B-B")

    threads = [threading.Thread(target=seal, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while group.queued < 6:  # all six signed and waiting to be recorded
        assert time.monotonic() < deadline, "the sealings never reached their log stage"
        time.sleep(0.001)
    with world.domain.keys.database.reading() as session:
        checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint))
    release.set()
    for thread in [opener, *threads]:
        thread.join(60)

    statuses = sorted(answer.status_code for answer in answers)  # type: ignore[attr-defined]
    assert statuses == [200] * 5 + [403]
    issued = [a for a in answers if a.status_code == 200]  # type: ignore[attr-defined]
    refused = next(a for a in answers if a.status_code == 403)  # type: ignore[attr-defined]
    assert refused.json()["type"] == "urn:tongxing:problem:grant-exhausted"  # type: ignore[attr-defined]
    indexes = sorted(int(a.headers["tongxing-audit-index"]) for a in issued)  # type: ignore[attr-defined]
    assert indexes == list(range(indexes[0], indexes[0] + 5))
    assert world.sealings_logged() == 5 and world.uses() == 5
    report = world.verify(issued[0].content)  # type: ignore[attr-defined]
    assert report["signatures"][0]["audit_log"]["verified"]
    with world.domain.keys.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == (
            checkpoints + 1
        )
    log, _, size = verify_stored(world.domain.audit)
    assert log.ok and log.verified_size == size, log.problems[:3]
