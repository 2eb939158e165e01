"""PKCS#11 key store: keys generated inside a token (an HSM, or SoftHSM2 in tests).

The private key never exists outside the token: it is generated there as sensitive and
non-extractable, and only signatures come out. One logged-in session per process is shared
by all keys under a lock (PKCS#11 sessions are not safe for concurrent use). ECDSA uses the
raw ``CKM_ECDSA`` mechanism over a SHA-256 digest computed here, since SoftHSM2 2.6 has no
combined ECDSA-with-SHA-256 mechanism.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keys.algorithms import RSA_BITS, KeyAlgorithm
from keys.stores import KeyStore, KeyStoreError, SigningKey


class Pkcs11SigningKey(SigningKey):
    """A handle on a private key inside the token."""

    def __init__(
        self,
        *,
        store: Pkcs11KeyStore,
        key_id: str,
        algorithm: KeyAlgorithm,
        private: Any,
        public: Any,
    ) -> None:
        super().__init__(key_id=key_id, algorithm=algorithm, public_key=_public_key(public))
        self._store = store
        self._private = private

    def sign(self, data: bytes) -> bytes:
        import pkcs11
        from pkcs11.util.ec import encode_ecdsa_signature

        with self._store.lock:
            if self.algorithm is KeyAlgorithm.ES256:
                raw = self._private.sign(
                    hashlib.sha256(data).digest(), mechanism=pkcs11.Mechanism.ECDSA
                )
                return bytes(encode_ecdsa_signature(raw))
            return bytes(self._private.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS))


def _public_key(public: Any) -> Any:
    import pkcs11
    from pkcs11.util.ec import encode_ec_public_key

    if public.key_type == pkcs11.KeyType.EC:
        return serialization.load_der_public_key(encode_ec_public_key(public))
    modulus = int.from_bytes(public[pkcs11.Attribute.MODULUS], "big")
    exponent = int.from_bytes(public[pkcs11.Attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


class Pkcs11KeyStore(KeyStore):
    """Keys in one PKCS#11 token, found by label (the key id)."""

    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        try:
            import pkcs11
        except ImportError:  # pragma: no cover - python-pkcs11 is a declared dependency
            raise KeyStoreError("python-pkcs11 is not installed") from None
        self.lock = threading.Lock()
        if not os.path.isfile(module):
            raise KeyStoreError(f"cannot load PKCS#11 module {module}: no such file")
        try:
            library = pkcs11.lib(module)
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            raise KeyStoreError(
                f"cannot load PKCS#11 module {module}: {type(exc).__name__}"
            ) from None
        try:
            token = library.get_token(token_label=token_label)
            try:
                self._session = token.open(user_pin=pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:
                # Login is per process and token: another store here already logged in.
                self._session = token.open(rw=True)
        except pkcs11.NoSuchToken:
            raise KeyStoreError(f"PKCS#11 token {token_label!r} not found in {module}") from None
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(
                f"cannot open PKCS#11 token {token_label!r} in {module}: {type(exc).__name__}"
            ) from None

    def generate(self, *, key_id: str, algorithm: KeyAlgorithm) -> tuple[bytes, SigningKey]:
        import pkcs11
        from pkcs11.util.ec import encode_named_curve_parameters

        label = key_id
        template = {
            pkcs11.Attribute.SENSITIVE: True,
            pkcs11.Attribute.EXTRACTABLE: False,
        }
        with self.lock:
            if algorithm is KeyAlgorithm.ES256:
                parameters = self._session.create_domain_parameters(
                    pkcs11.KeyType.EC,
                    {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                    local=True,
                )
                public, private = parameters.generate_keypair(
                    store=True, label=label, id=key_id.encode(), private_template=template
                )
            else:
                public, private = self._session.generate_keypair(
                    pkcs11.KeyType.RSA,
                    RSA_BITS,
                    store=True,
                    label=label,
                    id=key_id.encode(),
                    private_template=template,
                )
        key = Pkcs11SigningKey(
            store=self, key_id=key_id, algorithm=algorithm, private=private, public=public
        )
        return label.encode(), key

    def load(self, *, key_id: str, algorithm: KeyAlgorithm, reference: bytes) -> SigningKey:
        import pkcs11

        label = reference.decode()
        with self.lock:
            try:
                private = self._session.get_key(
                    object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label
                )
                public = self._session.get_key(
                    object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=label
                )
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyStoreError(
                    f"key {key_id}: not usable in the PKCS#11 token ({type(exc).__name__})"
                ) from None
        return Pkcs11SigningKey(
            store=self, key_id=key_id, algorithm=algorithm, private=private, public=public
        )

    def delete(self, *, key_id: str, reference: bytes) -> None:
        import pkcs11

        with self.lock:
            for object_class in (pkcs11.ObjectClass.PRIVATE_KEY, pkcs11.ObjectClass.PUBLIC_KEY):
                for obj in self._session.get_objects(
                    {
                        pkcs11.Attribute.CLASS: object_class,
                        pkcs11.Attribute.LABEL: reference.decode(),
                    }
                ):
                    obj.destroy()

    def close(self) -> None:
        """Log out and close the session."""
        with self.lock:
            self._session.close()
