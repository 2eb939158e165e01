"""Encrypted backups of the key custody, and taking the root CA key offline and back.

A bundle is JSON: public material (certificates, public keys, CA records) in clear, each
software private key re-sealed under a key derived from a backup passphrase (scrypt, cost
stored in the bundle, + AES-256-GCM, the envelope used at rest), and a MAC over the whole
document, so nothing in it, clear parts included, can be changed unnoticed. Keys held in a
PKCS#11 token are listed by label only; the token's own backup procedure covers them.

Security contract: restoring checks the MAC and that every decrypted private key matches
its recorded public key, and refuses an installation that already has keys; it yields
identical public keys and certificates. Nothing here writes key material in clear.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys import repository
from keys.crl import OFFLINE_VALIDITY, issue_crl
from keys.envelope import KeyDecryptionError, KeyEncryptionKey, open_private_key, seal_private_key
from keys.hierarchy import ROOT, Hierarchy
from keys.models import CertificateAuthority, DataKey, IssuedCertificate, ManagedKey

FORMAT = "tongxing-key-backup/2"
MIN_PASSPHRASE = 12
BACKUP_SCRYPT = (2**17, 8, 1)  # stronger than at rest: a passphrase, attacked offline
# CRL numbers issued after the backup was taken are unknown; skip well past them.
CRL_NUMBER_GAP = 1_000_000


class BackupError(ValueError):
    """A backup or restore was refused; the message says why (never any key material)."""


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None


def _time(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def _untime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _passphrase_kek(
    passphrase: bytes, *, salt: bytes, cost: tuple[int, int, int]
) -> KeyEncryptionKey:
    if len(passphrase.strip()) < MIN_PASSPHRASE:
        raise BackupError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")
    n, r, p = cost
    return KeyEncryptionKey(passphrase.strip(), salt=salt, n=n, r=r, p=p)


def _digest(document: dict[str, Any]) -> bytes:
    body = {key: value for key, value in document.items() if key != "mac"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()


def _reseal(row: ManagedKey, *, source: KeyEncryptionKey, target: KeyEncryptionKey) -> bytes:
    assert row.reference is not None
    try:
        clear = open_private_key(source, row.reference, key_id=row.id)
    except KeyDecryptionError as exc:
        raise BackupError(str(exc)) from None
    return seal_private_key(target, clear, key_id=row.id)


def _unseal_checked(
    sealed: bytes, *, kek: KeyEncryptionKey, key_id: str, public_key: bytes
) -> bytes:
    """Decrypt a key from a bundle and prove it belongs to ``public_key``."""
    try:
        clear = open_private_key(kek, sealed, key_id=key_id)
    except KeyDecryptionError as exc:
        raise BackupError(str(exc)) from None
    private = serialization.load_der_private_key(clear, password=None)
    actual = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if actual != public_key:
        raise BackupError(f"key {key_id}: the private key does not match its public key")
    return clear


def _key_record(row: ManagedKey, sealed: bytes | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "purpose": row.purpose,
        "algorithm": row.algorithm,
        "store": row.store,
        "state": row.state,
        "owner": row.owner,
        "public_key": _b64(row.public_key),
        "created_at": _time(row.created_at),
        "activated_at": _time(row.activated_at),
        "retired_at": _time(row.retired_at),
        "sealed": _b64(sealed),
        "label": row.reference.decode() if row.store == "pkcs11" and row.reference else None,
    }


def _sealed_document(*, passphrase: bytes, build: Any) -> bytes:
    salt = os.urandom(32)
    backup_kek = _passphrase_kek(passphrase, salt=salt, cost=BACKUP_SCRYPT)
    document: dict[str, Any] = {
        "format": FORMAT,
        "created_at": _time(datetime.now(UTC)),
        "kdf": {
            "salt": _b64(salt),
            "n": BACKUP_SCRYPT[0],
            "r": BACKUP_SCRYPT[1],
            "p": BACKUP_SCRYPT[2],
        },
        "check_value": _b64(backup_kek.check_value()),
        **build(backup_kek),
    }
    document["mac"] = _b64(backup_kek.encrypt(_digest(document), context=b"bundle"))
    return json.dumps(document, indent=1, sort_keys=True).encode()


def export_bundle(session: Session, *, kek: KeyEncryptionKey, passphrase: bytes) -> bytes:
    """The whole custody as an encrypted, authenticated bundle (use a snapshot transaction,
    ``Database.snapshot()``, so a concurrent issuance cannot make it inconsistent)."""

    def build(backup_kek: KeyEncryptionKey) -> dict[str, Any]:
        keys = []
        for row in repository.keys(session):
            sealed = None
            if row.store == "software" and row.reference is not None:
                sealed = _reseal(row, source=kek, target=backup_kek)
            keys.append(_key_record(row, sealed))
        all_certificates = repository.certificates(session)
        by_id = {c.id: c for c in all_certificates}
        return {
            "keys": keys,
            "certificates": [
                {
                    "issuer": c.issuer,
                    "serial": c.serial,
                    "kind": c.kind,
                    "subject": c.subject,
                    "owner": c.owner,
                    "key_id": c.key_id,
                    "der": _b64(c.der),
                    "not_before": _time(c.not_before),
                    "not_after": _time(c.not_after),
                    "status": c.status,
                    "revoked_at": _time(c.revoked_at),
                    "revocation_reason": c.revocation_reason,
                }
                for c in all_certificates
            ],
            "cas": [
                {
                    "name": ca.name,
                    "parent": ca.parent,
                    "key_id": ca.key_id,
                    "certificate": [
                        by_id[ca.certificate_id].issuer,
                        by_id[ca.certificate_id].serial,
                    ],
                    "crl_number": ca.crl_number,
                    "last_crl": _b64(ca.last_crl),
                    "last_crl_next_update": _time(ca.last_crl_next_update),
                }
                for ca in repository.cas(session)
            ],
            # Client-secret peppers and field-encryption keys: without them a restored
            # installation could not check a single client secret.
            "data_keys": [
                {
                    "purpose": row.purpose,
                    "sealed": _b64(
                        seal_private_key(
                            backup_kek,
                            _open_data_key(row, kek=kek),
                            key_id=f"data-key:{row.purpose}",
                        )
                    ),
                }
                for row in session.scalars(select(DataKey).order_by(DataKey.purpose))
            ],
        }

    return _sealed_document(passphrase=passphrase, build=build)


def _open_data_key(row: DataKey, *, kek: KeyEncryptionKey) -> bytes:
    try:
        return open_private_key(kek, row.sealed, key_id=f"data-key:{row.purpose}")
    except KeyDecryptionError as exc:
        raise BackupError(str(exc)) from None


def _open_bundle(bundle: bytes, passphrase: bytes) -> tuple[dict[str, Any], KeyEncryptionKey]:
    try:
        document = json.loads(bundle)
        known = document["format"] == FORMAT
        kdf = document["kdf"]
        salt = base64.b64decode(kdf["salt"])
        cost = (int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        check = base64.b64decode(document["check_value"])
        mac = base64.b64decode(document["mac"])
    except (ValueError, KeyError, TypeError):
        raise BackupError("the file is not a Tongxing key backup bundle") from None
    if not known:
        raise BackupError(f"unsupported bundle format; expected {FORMAT}")
    if not (2**14 <= cost[0] <= 2**20 and cost[1] <= 16 and cost[2] <= 4):
        raise BackupError("the bundle asks for implausible scrypt parameters")
    backup_kek = _passphrase_kek(passphrase, salt=salt, cost=cost)
    if not backup_kek.matches(check):
        raise BackupError("wrong backup passphrase")
    try:
        expected = backup_kek.decrypt(mac, context=b"bundle")
    except KeyDecryptionError:
        expected = b""
    if expected != _digest(document):
        raise BackupError("the bundle has been altered (its MAC does not match)")
    return document, backup_kek


def restore_bundle(
    session: Session, *, kek: KeyEncryptionKey, bundle: bytes, passphrase: bytes
) -> int:
    """Load a bundle into an installation that has no keys yet; returns the key count."""
    document, backup_kek = _open_bundle(bundle, passphrase)
    if repository.keys(session):
        raise BackupError("this installation already has keys; restore only into an empty one")
    try:
        return _restore(session, kek=kek, backup_kek=backup_kek, document=document)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"the bundle is incomplete ({type(exc).__name__})") from None


def _restore(
    session: Session,
    *,
    kek: KeyEncryptionKey,
    backup_kek: KeyEncryptionKey,
    document: dict[str, Any],
) -> int:
    for record in document["keys"]:
        public_key = _unb64(record["public_key"])
        assert public_key is not None
        sealed = _unb64(record["sealed"])
        reference: bytes | None
        if sealed is not None:
            clear = _unseal_checked(
                sealed, kek=backup_kek, key_id=record["id"], public_key=public_key
            )
            reference = seal_private_key(kek, clear, key_id=record["id"])
        elif record["label"]:
            reference = record["label"].encode()
        else:
            reference = None  # was offline when backed up
        session.add(
            ManagedKey(
                id=record["id"],
                purpose=record["purpose"],
                algorithm=record["algorithm"],
                store=record["store"],
                reference=reference,
                public_key=public_key,
                state=record["state"],
                owner=record["owner"],
                created_at=_untime(record["created_at"]),
                activated_at=_untime(record["activated_at"]),
                retired_at=_untime(record["retired_at"]),
            )
        )
    session.flush()
    rows = {}
    for record in document["certificates"]:
        row = IssuedCertificate(
            issuer=record["issuer"],
            serial=record["serial"],
            kind=record["kind"],
            subject=record["subject"],
            owner=record["owner"],
            key_id=record["key_id"],
            der=_unb64(record["der"]),
            not_before=_untime(record["not_before"]),
            not_after=_untime(record["not_after"]),
            status=record["status"],
            revoked_at=_untime(record["revoked_at"]),
            revocation_reason=record["revocation_reason"],
        )
        session.add(row)
        rows[(row.issuer, row.serial)] = row
    session.flush()
    for record in document["cas"]:
        session.add(
            CertificateAuthority(
                name=record["name"],
                parent=record["parent"],
                key_id=record["key_id"],
                certificate_id=rows[tuple(record["certificate"])].id,
                crl_number=record["crl_number"] + CRL_NUMBER_GAP,
                last_crl=None,
                last_crl_next_update=None,
                crl_stale=True,  # re-signed at the first fetch
            )
        )
    for record in document.get("data_keys", []):
        label = f"data-key:{record['purpose']}"
        sealed = _unb64(record["sealed"])
        assert sealed is not None
        try:
            clear = open_private_key(backup_kek, sealed, key_id=label)
        except KeyDecryptionError as exc:
            raise BackupError(str(exc)) from None
        session.add(
            DataKey(
                purpose=record["purpose"],
                sealed=seal_private_key(kek, clear, key_id=label),
                created_at=datetime.now(UTC),
            )
        )
    return len(document["keys"])


def take_root_offline(
    session: Session, *, hierarchy: Hierarchy, passphrase: bytes, actor: str
) -> bytes:
    """Export the root CA key sealed under ``passphrase``, sign a one-year root CRL, and
    remove the key from the service. Issuing CAs keep working; the root's OCSP responder
    keeps answering. Returns the bundle to store off-line."""
    ca = repository.ca(session, ROOT)
    row = repository.key(session, ca.key_id) if ca else None
    if ca is None or row is None:
        raise BackupError("there is no root CA yet: run `tongxing keys init`")
    if row.reference is None:
        raise BackupError("the root CA key is already offline")
    if row.store != "software":
        raise BackupError("the root CA key lives in a PKCS#11 token; take the token offline")
    issue_crl(session, hierarchy=hierarchy, ca_name=ROOT, validity=OFFLINE_VALIDITY)

    def build(backup_kek: KeyEncryptionKey) -> dict[str, Any]:
        sealed = _reseal(row, source=hierarchy.custody.kek, target=backup_kek)
        return {"keys": [_key_record(row, sealed)], "certificates": [], "cas": []}

    bundle = _sealed_document(passphrase=passphrase, build=build)
    row.reference, row.state = None, "offline"
    hierarchy.custody.forget(row.id)
    hierarchy.events.record(
        session, type="key.offline", actor=actor, subject=row.id, details={"purpose": row.purpose}
    )
    return bundle


def bring_root_online(
    session: Session, *, hierarchy: Hierarchy, bundle: bytes, passphrase: bytes, actor: str
) -> str:
    """Put the root CA key from an offline bundle back into the service."""
    document, backup_kek = _open_bundle(bundle, passphrase)
    ca = repository.ca(session, ROOT)
    row = repository.key(session, ca.key_id) if ca else None
    if ca is None or row is None:
        raise BackupError("there is no root CA in this installation")
    if row.reference is not None:
        raise BackupError("the root CA key is already online")
    record = next((r for r in document.get("keys", []) if r.get("id") == row.id), None)
    sealed = _unb64(record["sealed"]) if record else None
    if sealed is None:
        raise BackupError("the bundle does not hold this installation's root CA key")
    clear = _unseal_checked(sealed, kek=backup_kek, key_id=row.id, public_key=row.public_key)
    row.reference = seal_private_key(hierarchy.custody.kek, clear, key_id=row.id)
    row.state = "active"
    # Anything revoked while the root was offline goes on the next root CRL at once.
    ca.crl_stale = True
    hierarchy.events.record(
        session, type="key.online", actor=actor, subject=row.id, details={"purpose": row.purpose}
    )
    return row.id
