"""Verification for everybody: the report on an uploaded PDF and the budget that bounds it.

Security contract: the report trusts only our root, with the current CRLs of our CAs and no
network fetching, so a seal whose certificate is revoked fails whenever that happened (the
report says whether its timestamp came first); it adds our own records of the sealing. The
budget counts anonymous verifications per source address (IPv6: per /64, the block one
client controls) and minute in the shared store, so it holds across app processes; it does
not tell people behind one NAT apart.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from typing import Any

from asn1crypto import x509 as asn1_x509

from core.store import Store
from seal import records
from seal.errors import TooManyVerifications
from seal.runtime import SealingService
from seal.verification import verify_pdf

RETRY_AFTER_SECONDS = 60


def report_for(service: SealingService, data: bytes) -> dict[str, Any]:
    """The server-side report: our root and current CRLs, plus our records."""
    with service.database.transaction() as session:
        inputs = service.revocation_inputs(session)
    root, *issuing = (asn1_x509.Certificate.load(der) for der in inputs[0])
    return verify_pdf(
        data,
        # Now, with the current CRLs: our policy fails a seal whose certificate is revoked,
        # whenever that happened (the report says whether the timestamp came first).
        context=lambda _reader, _moment: service.context_from(*inputs),
        anchors=[root],
        intermediates=issuing,
        max_bytes=service.settings.seal_max_pdf_bytes,
        lookup=lambda digest: records.record_for(service.database, service.audit, digest),
    )


def budget_holder(address: str) -> str:
    """Whom a source address's verifications are counted for: itself, or its IPv6 /64."""
    if ":" in address:
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address


def spend_budget(store: Store, *, address: str, limit: int, now: float | None = None) -> None:
    """Count one verification from ``address``; :class:`TooManyVerifications` past ``limit``
    in the current minute."""
    minute = int((time.time() if now is None else now) // 60)
    key = store.key("seal", "verify-rate", f"{budget_holder(address)}:{minute}")
    if store.incr(key, ttl=120) > limit:
        raise TooManyVerifications(
            f"at most {limit} verifications per minute from one address",
            retry_after=RETRY_AFTER_SECONDS,
        )
