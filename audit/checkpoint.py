"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).

    <origin> LF <tree size> LF <base64 root hash> LF time <RFC 3339 UTC> LF
    LF
    — <origin> <base64(key ID || signature)> LF

The signature is ECDSA P-256 with SHA-256 over the note text (signed-note type 0x02): the
signature is ASN.1 DER and the key ID is the first four bytes of SHA-256 over the DER
SubjectPublicKeyInfo. The ``time`` line is a checkpoint extension line; verifiers that do
not know it may ignore it. Framework-free; signing goes through a key store.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keys.stores import SigningKey

MAX_NOTE = 8192


class CheckpointError(ValueError):
    """A checkpoint does not parse or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """The signed statement: this origin's tree had ``size`` leaves and root ``root``."""

    origin: str
    size: int
    root: bytes
    time: datetime | None

    def text(self) -> str:
        """The note text that is signed (ends with a newline)."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.time is not None:
            lines.append("time " + self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return "\n".join(lines) + "\n"


def key_id(public_key_der: bytes) -> bytes:
    """The signed-note key ID of an ECDSA key (type 0x02): SHA-256(SPKI DER)[:4]."""
    return hashlib.sha256(public_key_der).digest()[:4]


def sign(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The signed note for ``checkpoint``."""
    text = checkpoint.text()
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_id(key.public_key_der) + signature).decode()
    return f"{text}\n\u2014 {checkpoint.origin} {blob}\n"


def parse(note: str) -> tuple[Checkpoint, str, list[tuple[str, bytes]]]:
    """Split a signed note into its checkpoint, its text and its (name, blob) signatures."""
    if len(note) > MAX_NOTE or "\n\n" not in note or not note.endswith("\n"):
        raise CheckpointError("not a signed note")
    text, _, signature_block = note.partition("\n\n")
    text += "\n"
    lines = text.splitlines()
    if len(lines) < 3:
        raise CheckpointError("a checkpoint needs an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"bad tree size {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise CheckpointError("bad root hash") from None
    if len(root) != 32:
        raise CheckpointError("the root hash must be 32 bytes")
    moment = None
    for extension in lines[3:]:
        if extension.startswith("time "):
            try:
                moment = datetime.strptime(extension[5:], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                raise CheckpointError("bad time line") from None
    signatures = []
    for line in signature_block.splitlines():
        if not line.startswith("\u2014 "):
            raise CheckpointError("bad signature line")
        name, _, blob = line[2:].rpartition(" ")
        try:
            signatures.append((name, base64.b64decode(blob, validate=True)))
        except ValueError:
            raise CheckpointError("bad signature encoding") from None
    return Checkpoint(origin=origin, size=int(size_text), root=root, time=moment), text, signatures


def verify(note: str, *, origin: str, public_key_der: bytes) -> Checkpoint:
    """The checkpoint if ``note`` carries a valid signature by the log key, else an error.

    Signatures by other keys are ignored (c2sp.org/signed-note §Signatures)."""
    if not isinstance(note, str):
        raise CheckpointError("a checkpoint must be text")
    checkpoint, text, signatures = parse(note)
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for origin {checkpoint.origin!r}, not {origin!r}")
    try:
        public = serialization.load_der_public_key(public_key_der)
    except ValueError:
        raise CheckpointError("the log public key is not a valid key") from None
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise CheckpointError("the log public key is not an ECDSA key")
    wanted = key_id(public_key_der)
    for name, blob in signatures:
        if name == origin and blob[:4] == wanted:
            try:
                public.verify(blob[4:], text.encode(), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise CheckpointError("the checkpoint signature does not verify") from None
            return checkpoint
    raise CheckpointError("the checkpoint is not signed by the log key")
