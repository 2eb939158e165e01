"""Pairwise subject identifiers (OIDC Core §8.1), opt-in per client sector.

``sub = base64url(HMAC-SHA-256(key, sector || 0x00 || local id))``: stable for one sector,
unlinkable across sectors without the key (a data key sealed under the KEK).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

DATA_KEY_PURPOSE = "pairwise-subject"


def pairwise_subject(*, key: bytes, sector: str, local_subject: str) -> str:
    """The subject a client of ``sector`` sees for the person ``local_subject``."""
    mac = hmac.new(key, sector.encode() + b"\x00" + local_subject.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def subject_for(*, key: bytes, sector: str | None, local_subject: str) -> str:
    """Pairwise for clients with a sector, the public (local) id otherwise."""
    if sector is None:
        return local_subject
    return pairwise_subject(key=key, sector=sector, local_subject=local_subject)
