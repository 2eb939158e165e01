"""Where private keys live: one interface, a software store and a PKCS#11 (HSM) store.

Security contract for every store: private keys never leave the store unencrypted. A store
hands out :class:`SigningKey` objects that sign; it never returns private key material
(the software store persists only envelope-encrypted blobs, the PKCS#11 store only a label).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from keys.algorithms import KeyAlgorithm


class KeyStoreError(RuntimeError):
    """A key store cannot do what was asked; the message names no key material."""


class SigningKey(ABC):
    """A private key that can sign, wherever it lives."""

    def __init__(self, *, key_id: str, algorithm: KeyAlgorithm, public_key: PublicKeyTypes):
        self.key_id = key_id
        self.algorithm = algorithm
        self.public_key = public_key
        self.public_key_der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @abstractmethod
    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with SHA-256: DER ECDSA-Sig-Value for EC, PKCS#1 v1.5 for RSA."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key_id} {self.algorithm}>"


class KeyStore(ABC):
    """Generates, loads and deletes private keys of one kind of custody."""

    name: str

    @abstractmethod
    def generate(self, *, key_id: str, algorithm: KeyAlgorithm) -> tuple[bytes, SigningKey]:
        """Create a key; returns the reference to persist (a sealed blob or a token label)
        and the usable key."""

    @abstractmethod
    def load(self, *, key_id: str, algorithm: KeyAlgorithm, reference: bytes) -> SigningKey:
        """The key for a persisted reference; raises :class:`KeyStoreError` if unusable."""

    @abstractmethod
    def delete(self, *, key_id: str, reference: bytes) -> None:
        """Destroy the key (a no-op where the reference itself is the only copy)."""
