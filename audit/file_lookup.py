"""Finding the log entries that name a file, by the file's SHA-256 (``tongxing audit find``).

Security contract: a match is only reported when the entry's own leaf (the bytes the tree
hashes) names the digest in a ``*_sha256`` detail; the ``audit_file_digests`` index only
narrows the search, so a forged or stale index row cannot make an entry claim a file. It
does not verify the log: run ``tongxing audit verify`` for that. Entries logged before
file digests were recorded (before revision 0007) name no file and are not found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from audit import repository

CHUNK = 1 << 20


@dataclass(frozen=True)
class FoundEntry:
    """An entry naming the file, and in which role (``original``, ``sealed``, ...)."""

    index: int
    time: str
    type: str
    subject: str
    details: dict[str, Any]
    role: str


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def naming(index: int, leaf: bytes, sha256: str) -> FoundEntry | None:
    """The entry if its leaf names ``sha256`` in a ``<role>_sha256`` detail, else None."""
    try:
        decoded = json.loads(leaf)
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("details"), dict):
        return None
    details: dict[str, Any] = decoded["details"]
    for name, value in details.items():
        if name.endswith("_sha256") and value == sha256:
            return FoundEntry(
                index=index,
                time=str(decoded.get("time", "")),
                type=str(decoded.get("type", "")),
                subject=str(decoded.get("subject", "")),
                details=details,
                role=name.removesuffix("_sha256"),
            )
    return None


def find_in_database(session: Session, sha256: str) -> list[FoundEntry]:
    """Entries naming the file, through the digest index (no scan of the log)."""
    found = (
        naming(int(row.index), bytes(row.leaf), sha256)
        for row in repository.entries_naming_file(session, sha256)
    )
    return [entry for entry in found if entry is not None]


def find_in_entries(entries: Iterable[tuple[int, bytes]], sha256: str) -> list[FoundEntry]:
    """Entries naming the file, by reading every leaf (for an export: it has no index)."""
    found = (naming(index, leaf, sha256) for index, leaf in sorted(entries))
    return [entry for entry in found if entry is not None]
