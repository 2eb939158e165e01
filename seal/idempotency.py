"""Idempotency keys for sealing (in the spirit of the IETF ``Idempotency-Key`` header draft):
the same key from the same client returns the same sealed document, never a second seal.

Security contract: keys are per client (one client cannot read another's results); a key
is bound to a fingerprint of the request (PDF digest + parameters), so reusing it for a
different request is refused; while the first request runs, a retry gets 409 instead of
sealing twice. A failed request releases the key, so the client may retry with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from core.store import Store, StoreUnavailable
from seal.errors import IdempotencyConflict, IdempotencyMismatch, InvalidSealRequest
from seal.runtime import SealingService
from seal.sealing import SealingRequest, seal_document

# Longer than any sealing takes (the anchor search has a 5 s budget); a crashed request
# frees the key then. Should a sealing outlive it, the database still refuses a second
# sealing under the same key (sealed_documents is unique per client and key).
PENDING_SECONDS = 300
log = logging.getLogger("tongxing.seal")


@dataclass(frozen=True)
class Remembered:
    """The result a key stands for."""

    document_id: str
    audit_index: int
    data: bytes


def fingerprint(data: bytes, parameters: dict[str, Any]) -> str:
    """What makes two requests the same request."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class IdempotencyKeys:
    """Reserve, complete and release idempotency keys in the shared store."""

    def __init__(self, store: Store, *, ttl_seconds: float) -> None:
        self.store = store
        self.ttl = ttl_seconds

    @staticmethod
    def digest(client_id: str, key: str) -> str:
        """The key as recorded with the sealing (hex SHA-256 of client and key)."""
        return hashlib.sha256(f"{client_id}\x00{key}".encode()).hexdigest()

    def _key(self, client_id: str, key: str) -> str:
        return self.store.key("seal", "idem", self.digest(client_id, key))

    @staticmethod
    def check_header(key: str) -> str:
        """A usable key: 1 to 255 visible ASCII characters."""
        key = key.strip()
        if not 1 <= len(key) <= 255 or not all(0x21 <= ord(c) <= 0x7E for c in key):
            raise InvalidSealRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
        return key

    def begin(self, *, client_id: str, key: str, fingerprint: str) -> Remembered | None:
        """The remembered result for this key, or None after reserving the key for us."""
        name = self._key(client_id, key)
        marker = json.dumps({"state": "pending", "fingerprint": fingerprint}).encode()
        if self.store.set(name, marker, ttl=PENDING_SECONDS, only_if_absent=True):
            return None
        raw = self.store.get(name)
        if raw is None:  # expired between the two calls: try once more
            if self.store.set(name, marker, ttl=PENDING_SECONDS, only_if_absent=True):
                return None
            raw = self.store.get(name) or b"{}"
        found = json.loads(raw)
        if found.get("state") != "done":
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is still being processed; retry later"
            )
        if found.get("fingerprint") != fingerprint:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with a different document or parameters"
            )
        data = self.store.get(name + ":pdf")
        if data is None:
            raise IdempotencyConflict("the remembered result is gone; retry later")
        return Remembered(
            document_id=found["document_id"], audit_index=found["audit_index"], data=data
        )

    def complete(self, *, client_id: str, key: str, fingerprint: str, result: Remembered) -> None:
        """Remember ``result`` for the key."""
        name = self._key(client_id, key)
        self.store.set(name + ":pdf", result.data, ttl=self.ttl)
        record = {"state": "done", "fingerprint": fingerprint, **asdict(result)}
        del record["data"]
        self.store.set(name, json.dumps(record).encode(), ttl=self.ttl)

    def release(self, *, client_id: str, key: str) -> None:
        """Forget a reservation whose request failed."""
        self.store.delete(self._key(client_id, key))


@dataclass(frozen=True)
class Sealing:
    """The outcome of :func:`seal_once`: the sealed document, and whether it was replayed."""

    result: Remembered
    replayed: bool
    server_timing: str | None  # how long the steps took, when sealed now


def seal_once(
    service: SealingService,
    *,
    client_id: str,
    request: SealingRequest,
    described: dict[str, Any],
    data: bytes,
    idempotency_key: str | None,
) -> Sealing:
    """Seal ``data`` as ``request`` says; with an ``idempotency_key`` (the raw header), at
    most once per client and key, as the module docstring says. ``described`` is the
    request as the client gave it (with ``data``, what the key is bound to)."""
    if idempotency_key is None:
        result = seal_document(service, client_id=client_id, request=request, data=data)
        return Sealing(
            Remembered(result.document_id, result.audit_index, result.data),
            replayed=False,
            server_timing=result.timings.server_timing(),
        )
    keys = IdempotencyKeys(
        service.store, ttl_seconds=service.settings.seal_idempotency_hours * 3600
    )
    key = IdempotencyKeys.check_header(idempotency_key)
    request_print = fingerprint(data, described)
    found = keys.begin(client_id=client_id, key=key, fingerprint=request_print)
    if found is not None:
        return Sealing(found, replayed=True, server_timing=None)
    try:
        result = seal_document(
            service,
            client_id=client_id,
            request=request,
            data=data,
            idempotency_key=keys.digest(client_id, key),
        )
    except IdempotencyConflict:
        raise  # sealed before under this key: the reservation is not ours to free
    except BaseException:
        keys.release(client_id=client_id, key=key)
        raise
    remembered = Remembered(result.document_id, result.audit_index, result.data)
    try:
        keys.complete(client_id=client_id, key=key, fingerprint=request_print, result=remembered)
    except StoreUnavailable:
        # The seal is issued and logged: hand it over. A retry under this key is refused
        # (409 while the reservation lives, then by the database), never sealed twice.
        log.warning("sealed, but the idempotent result could not be stored")
    return Sealing(remembered, replayed=False, server_timing=result.timings.server_timing())
