"""Envelope encryption of private keys at rest: AES-256-GCM data keys under a key-encryption key.

The key-encryption key (KEK) is derived from the configured secret with scrypt and a
per-installation salt, once per process. Each private key gets its own random data key
(DEK); the DEK is wrapped by the KEK and the key is sealed by the DEK, both with AES-256-GCM
and the key id as associated data, so a blob cannot be swapped onto another key's row.

Security contract: ``open_private_key`` either returns the exact bytes sealed for that key id
under that KEK, or raises :class:`KeyDecryptionError`; it never returns partial data.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

BLOB_MAGIC = b"TXK1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_CHECK_PLAINTEXT = b"tongxing key-encryption key check v1"
_NONCE = 12


class KeyDecryptionError(ValueError):
    """A sealed key could not be opened: wrong key-encryption key or a corrupt blob."""


class KeyEncryptionKey:
    """The derived wrapping key; holds no copy of the configured secret."""

    def __init__(
        self, secret: bytes, *, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
    ) -> None:
        if len(salt) < 16:
            raise ValueError("KEK salt must be at least 16 bytes")
        self.parameters = (n, r, p)
        derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)
        self._aead = AESGCM(derived)

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        """nonce || AES-256-GCM(plaintext) bound to ``context``."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, sealed: bytes, *, context: bytes) -> bytes:
        """Inverse of :meth:`encrypt`; raises :class:`KeyDecryptionError`."""
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context)
        except (InvalidTag, ValueError):
            raise KeyDecryptionError("wrong key-encryption key or corrupt data") from None

    def check_value(self) -> bytes:
        """An encrypted constant stored beside the keys, to tell a wrong KEK at start-up."""
        return self.encrypt(_CHECK_PLAINTEXT, context=b"check")

    def matches(self, check_value: bytes) -> bool:
        """Whether ``check_value`` was produced by this KEK."""
        try:
            return self.decrypt(check_value, context=b"check") == _CHECK_PLAINTEXT
        except KeyDecryptionError:
            return False


def seal_private_key(kek: KeyEncryptionKey, private_der: bytes, *, key_id: str) -> bytes:
    """Encrypt a PKCS#8 private key under a fresh data key wrapped by ``kek``."""
    dek = AESGCM.generate_key(bit_length=256)
    wrapped = kek.encrypt(dek, context=b"dek:" + key_id.encode())
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(dek).encrypt(nonce, private_der, b"key:" + key_id.encode())
    return BLOB_MAGIC + struct.pack(">H", len(wrapped)) + wrapped + sealed


def open_private_key(kek: KeyEncryptionKey, blob: bytes, *, key_id: str) -> bytes:
    """Decrypt a blob made by :func:`seal_private_key` for ``key_id``."""
    if len(blob) < 6 or not blob.startswith(BLOB_MAGIC):
        raise KeyDecryptionError(f"key {key_id}: not a Tongxing key blob")
    (wrapped_len,) = struct.unpack(">H", blob[4:6])
    wrapped, sealed = blob[6 : 6 + wrapped_len], blob[6 + wrapped_len :]
    try:
        dek = kek.decrypt(wrapped, context=b"dek:" + key_id.encode())
        return AESGCM(dek).decrypt(sealed[:_NONCE], sealed[_NONCE:], b"key:" + key_id.encode())
    except (KeyDecryptionError, InvalidTag, ValueError):
        raise KeyDecryptionError(
            f"key {key_id}: wrong key-encryption key or corrupt key blob"
        ) from None
