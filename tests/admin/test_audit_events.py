"""The audit administrator reads the audit log: filters, cursors, and an inclusion proof a
reader checks with nothing but SHA-256 and the log key."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from admin import audit_events
from admin.errors import Forbidden, Invalid, NotFound
from audit.models import AuditEntry
from tests.admin import world as w


@pytest.fixture
def world(domain: Any) -> w.World:
    built = w.build(domain)
    with domain.keys.database.transaction() as session:
        for n in range(5):
            domain.audit.record(
                session,
                type="test.alpha" if n % 2 == 0 else "test.beta",
                actor="person:alice" if n < 3 else "person:bob",
                subject=f"thing-{n}",
                details={"n": n},
            )
    return built


def _all(world: w.World, **filters: Any) -> list[dict[str, Any]]:
    """Every page of the list, followed by cursor, with a small limit."""
    actor = world.actor(w.AUDIT)
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = audit_events.events(world.admin, actor, cursor=cursor, limit=2, **filters)
        assert len(page["items"]) <= 2
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def _size(world: w.World) -> int:
    with world.domain.keys.database.reading() as session:
        return len(list(session.scalars(select(AuditEntry.index))))


def test_pages_run_newest_first_without_gaps_or_repeats(world: w.World) -> None:
    items = _all(world)
    indexes = [e["index"] for e in items]
    assert indexes == sorted(range(_size(world)), reverse=True)
    newest = items[0]
    assert newest["type"] == "test.alpha" and newest["actor"] == "person:bob"
    assert newest["subject"] == "thing-4" and newest["details"] == {"n": 4}
    leaf = base64.b64decode(newest["leaf"])
    assert b'"subject":"thing-4"' in leaf and datetime.fromisoformat(newest["created_at"])
    # An event appended while paging does not shift the pages already read.
    actor = world.actor(w.AUDIT)
    first = audit_events.events(world.admin, actor, limit=3)
    with world.domain.keys.database.transaction() as session:
        world.domain.audit.record(session, type="test.late", actor="x", subject="y", details={})
    second = audit_events.events(world.admin, actor, limit=3, cursor=first["next_cursor"])
    assert second["items"][0]["index"] == first["items"][-1]["index"] - 1


def test_filters(world: w.World) -> None:
    alpha = _all(world, type="test.alpha")
    assert [e["subject"] for e in alpha] == ["thing-4", "thing-2", "thing-0"]
    assert {e["type"] for e in _all(world, type="test.")} == {"test.alpha", "test.beta"}
    assert _all(world, type="test") == []  # a prefix ends with a dot; otherwise exact
    assert _all(world, type="test_") == []  # LIKE wildcards are literal
    bob = _all(world, by="person:bob")
    assert [e["subject"] for e in bob] == ["thing-4", "thing-3"]
    assert [e["subject"] for e in _all(world, by="person:alice", type="test.beta")] == ["thing-1"]
    assert [e["index"] for e in _all(world, subject="thing-2")] == [alpha[1]["index"]]
    now = datetime.now(UTC)
    assert _all(world, since=now + timedelta(hours=1)) == []
    assert _all(world, until=now - timedelta(hours=1)) == []
    assert len(_all(world, since=now - timedelta(hours=1), type="test.")) == 5
    # since is inclusive and until exclusive, at the log's one-second resolution; a time
    # without an offset is UTC.
    moment = datetime.fromisoformat(alpha[0]["created_at"])
    assert alpha[0] in _all(world, since=moment, type="test.alpha")
    assert alpha[0] not in _all(world, until=moment, type="test.alpha")
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    assert alpha[0] in _all(world, since=naive, type="test.alpha")
    in_beijing = moment.astimezone(timezone(timedelta(hours=8)))
    assert alpha[0] in _all(world, since=in_beijing, type="test.alpha")


def test_bad_cursors_and_limits_are_refused(world: w.World) -> None:
    actor = world.actor(w.AUDIT)
    for cursor in ("!!!", "bm90LWEtbnVtYmVy", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"):
        with pytest.raises(Invalid):
            audit_events.events(world.admin, actor, cursor=cursor)
    for limit in (0, 201):
        with pytest.raises(Invalid):
            audit_events.events(world.admin, actor, limit=limit)
    with pytest.raises(Invalid):
        audit_events.events(
            world.admin,
            actor,
            until=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        )


def test_only_the_audit_administrator_reads_and_refusals_are_recorded(world: w.World) -> None:
    for login in (w.SYSTEM, w.SECURITY, w.ORG_ADMIN, w.NOBODY):
        with pytest.raises(Forbidden):
            audit_events.events(world.admin, world.actor(login))
        with pytest.raises(Forbidden):
            audit_events.event(world.admin, world.actor(login), index=0)
    refused = _all(world, type="admin.refused")
    assert {e["actor"] for e in refused} == {
        f"person:{x}" for x in (w.SYSTEM, w.SECURITY, w.ORG_ADMIN, w.NOBODY)
    }
    assert {e["subject"] for e in refused} == {"audit.events", "audit.event"}
    assert all(e["details"]["reason"] == "admin-forbidden" for e in refused)


def _leaf_in_root(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, written out here rather than imported from ``audit.merkle``."""

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    fn, sn, r = index, size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def test_an_event_comes_with_a_proof_that_verifies(world: w.World) -> None:
    actor = world.actor(w.AUDIT)
    size = _size(world)
    with world.domain.keys.database.reading() as session:
        public = world.domain.audit.public_key_pem(session)
    assert public is not None
    key = serialization.load_der_public_key(public[0])
    assert isinstance(key, ec.EllipticCurvePublicKey)
    for index in (0, 1, size // 2, size - 1):
        found = audit_events.event(world.admin, actor, index=index)
        leaf = base64.b64decode(found["leaf"])
        assert base64.b64decode(found["leaf_hash"]) == hashlib.sha256(b"\x00" + leaf).digest()
        proof, checkpoint = found["proof"], found["checkpoint"]
        assert proof["leaf_index"] == index and proof["tree_size"] == checkpoint["tree_size"]
        root = base64.b64decode(checkpoint["root_hash"])
        path = [base64.b64decode(h) for h in proof["hashes"]]
        assert _leaf_in_root(leaf, index, proof["tree_size"], path, root)
        assert not _leaf_in_root(leaf + b" ", index, proof["tree_size"], path, root)
        # The signed note states the same size and root, signed by the log key.
        text, _, signature_line = checkpoint["note"].partition("\n\n")
        lines = text.split("\n")
        assert lines[1] == str(proof["tree_size"]) and lines[2] == checkpoint["root_hash"]
        blob = base64.b64decode(signature_line.rsplit(" ", 1)[1])
        key.verify(blob[4:], (text + "\n").encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(NotFound):
        audit_events.event(world.admin, actor, index=size + 10)
