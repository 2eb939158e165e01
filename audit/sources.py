"""Where an auditor reads a log from: this installation's database, an export file, or the
HTTP API of a running deployment. Each yields the same :class:`LogMaterial`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from audit import repository
from audit.models import AuditNode
from keys import repository as key_repository
from keys.hierarchy import AUDIT_LOG_PURPOSE

EXPORT_FORMAT = "tongxing-audit-export/1"
PAGE = 1000


class SourceError(ValueError):
    """The log material could not be read; the message says why."""


class OriginMismatch(SourceError):
    """The log is not the one expected (another origin): a configuration error."""


@dataclass
class LogMaterial:
    """Everything the verifier needs, as plain data."""

    origin: str
    public_key_der: bytes
    entries: list[tuple[int, bytes]]
    checkpoints: list[tuple[int, str]]
    leaf_hashes: dict[int, bytes]

    def expect_origin(self, expected: str | None) -> None:
        """Raise :class:`OriginMismatch` when the caller expects another log: a configuration
        error (the wrong deployment or setting), never a tampering verdict."""
        if expected is not None and expected != self.origin:
            raise OriginMismatch(
                f"configuration error: the log's origin is {self.origin!r} (fixed when the "
                f"log was created), not the expected {expected!r}; check --origin (and the "
                "deployment you are pointing at)"
            )

    def to_export(self) -> bytes:
        """The export file's bytes (JSON)."""
        return json.dumps(
            {
                "format": EXPORT_FORMAT,
                "origin": self.origin,
                "public_key": base64.b64encode(self.public_key_der).decode(),
                "entries": [
                    {"index": i, "leaf": base64.b64encode(leaf).decode()}
                    for i, leaf in self.entries
                ],
                "checkpoints": [{"id": i, "note": note} for i, note in self.checkpoints],
                "leaf_hashes": {
                    str(i): base64.b64encode(h).decode()
                    for i, h in sorted(self.leaf_hashes.items())
                },
            },
            ensure_ascii=False,
            indent=0,
        ).encode()


def from_database(session: Session, *, origin: str) -> LogMaterial:
    """The log as stored here (an operator's own check, or the basis of an export)."""
    keys = key_repository.keys(session, purpose=AUDIT_LOG_PURPOSE)
    if not keys:
        raise SourceError("this installation has no audit log key: run `tongxing keys init`")
    size = repository.tree_size(session)
    # A row edited by hand may come back as text; keep its bytes for the verifier to judge.
    entries = [
        (int(row.index), row.leaf if isinstance(row.leaf, bytes) else str(row.leaf).encode())
        for row in repository.entries(session, start=0, end=size + 1_000_000)
    ]
    checkpoints = [
        (row.id, row.note) for row in repository.checkpoints(session, after_id=0, limit=10**9)
    ]
    hashes = {
        int(row.index): bytes(row.hash)
        for row in session.query(AuditNode).filter(AuditNode.level == 0)
    }
    active = [k for k in keys if k.state == "active"] or list(keys)
    return LogMaterial(
        origin=origin,
        public_key_der=bytes(active[-1].public_key),
        entries=entries,
        checkpoints=checkpoints,
        leaf_hashes=hashes,
    )


def _entry(index: object, leaf: object) -> tuple[int, bytes]:
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(leaf, str):
        raise SourceError("an entry must have an integer index and a base64 leaf")
    return index, base64.b64decode(leaf, validate=True)


def _checkpoint(checkpoint_id: object, note: object) -> tuple[int, str]:
    if not isinstance(checkpoint_id, int) or not isinstance(note, str):
        raise SourceError("a checkpoint must have an integer id and text")
    return checkpoint_id, note


def from_export(data: bytes) -> LogMaterial:
    """The log from a file written by `tongxing audit export` (every field type-checked)."""
    try:
        document: dict[str, Any] = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise SourceError(f"not a {EXPORT_FORMAT} file")
        return LogMaterial(
            origin=str(document["origin"]),
            public_key_der=base64.b64decode(document["public_key"], validate=True),
            entries=[_entry(e["index"], e["leaf"]) for e in document["entries"]],
            checkpoints=[_checkpoint(c["id"], c["note"]) for c in document["checkpoints"]],
            leaf_hashes={
                int(i): base64.b64decode(h, validate=True)
                for i, h in document.get("leaf_hashes", {}).items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError("the file is not a well-formed Tongxing audit export") from None


def from_http(base_url: str, *, token: str, timeout: float = 30.0) -> LogMaterial:
    """The log fetched from a running deployment (entries need an ``audit:read`` token)."""
    try:
        return _fetch(base_url, token=token, timeout=timeout)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"{base_url} answered something that is not an audit log") from None


def _fetch(base_url: str, *, token: str, timeout: float) -> LogMaterial:
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
        key = _get(client, "/audit/v1/key")
        public = serialization.load_pem_public_key(key["public_key_pem"].encode())
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        checkpoints: list[tuple[int, str]] = []
        after = 0
        while True:
            page = _get(client, f"/audit/v1/checkpoints?after={after}")["checkpoints"]
            checkpoints += [_checkpoint(c["id"], c["note"]) for c in page]
            if not page:
                break
            after = page[-1]["id"]
        entries: list[tuple[int, bytes]] = []
        headers = {"authorization": f"Bearer {token}"}
        while True:
            page = _get(client, f"/audit/v1/entries?start={len(entries)}", headers=headers)
            entries += [_entry(e["index"], e["leaf"]) for e in page["entries"]]
            if not page["entries"] or len(entries) >= page["tree_size"]:
                break
    return LogMaterial(
        origin=key["origin"],
        public_key_der=der,
        entries=entries,
        checkpoints=checkpoints,
        leaf_hashes={},
    )


def _get(client: httpx.Client, path: str, *, headers: dict[str, str] | None = None) -> Any:
    try:
        response = client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach {client.base_url}{path}: {exc}") from None
    if response.status_code != 200:
        raise SourceError(f"{path} answered {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except (ValueError, RecursionError):
        raise SourceError(f"{path} did not answer JSON") from None
