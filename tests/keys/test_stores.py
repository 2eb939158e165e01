"""Key stores: software and PKCS#11 (SoftHSM2) generate, load and sign the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from keys.algorithms import KeyAlgorithm, jws_signature
from keys.envelope import KeyEncryptionKey
from keys.stores import KeyStore, KeyStoreError, SigningKey
from keys.stores.pkcs11 import Pkcs11KeyStore
from keys.stores.software import SoftwareKeyStore
from tests.pki import SoftHsm

KEK = KeyEncryptionKey(b"a key-encryption key for the store tests", salt=os.urandom(32))


def verify(key: SigningKey, signature: bytes, data: bytes) -> None:
    public: Any = key.public_key
    if key.algorithm is KeyAlgorithm.ES256:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.fixture(params=["software", "pkcs11"])
def store(request: pytest.FixtureRequest) -> KeyStore:
    if request.param == "software":
        return SoftwareKeyStore(KEK)
    hsm: SoftHsm = request.getfixturevalue("softhsm")
    return Pkcs11KeyStore(module=hsm.module, token_label=hsm.token_label, pin=hsm.pin)


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_generate_load_sign_verify(store: KeyStore, algorithm: KeyAlgorithm) -> None:
    key_id = f"test-{os.urandom(6).hex()}"
    reference, key = store.generate(key_id=key_id, algorithm=algorithm)
    data = b"sealed document digest input"
    verify(key, key.sign(data), data)
    reloaded = store.load(key_id=key_id, algorithm=algorithm, reference=reference)
    assert reloaded.public_key_der == key.public_key_der
    verify(key, reloaded.sign(data), data)
    if algorithm is KeyAlgorithm.ES256:
        assert len(jws_signature(algorithm, key.sign(data))) == 64
    store.delete(key_id=key_id, reference=reference)


def test_software_blob_holds_no_clear_key() -> None:
    store = SoftwareKeyStore(KEK)
    reference, key = store.generate(key_id="k-clear", algorithm=KeyAlgorithm.ES256)
    private = key._private  # type: ignore[attr-defined]
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert scalar not in reference
    assert pkcs8 not in reference


def test_software_load_with_wrong_kek_or_corrupt_blob() -> None:
    reference, _ = SoftwareKeyStore(KEK).generate(key_id="k-w", algorithm=KeyAlgorithm.ES256)
    wrong = SoftwareKeyStore(
        KeyEncryptionKey(b"not the right key at all, 40 chars", salt=os.urandom(32))
    )
    with pytest.raises(KeyStoreError, match="k-w: wrong key-encryption key or corrupt key blob"):
        wrong.load(key_id="k-w", algorithm=KeyAlgorithm.ES256, reference=reference)
    corrupt = reference[:-3] + b"xyz"
    with pytest.raises(KeyStoreError) as caught:
        SoftwareKeyStore(KEK).load(key_id="k-w", algorithm=KeyAlgorithm.ES256, reference=corrupt)
    assert "corrupt" in str(caught.value)


def test_pkcs11_keys_are_sensitive_and_not_extractable(softhsm: SoftHsm) -> None:
    import pkcs11

    store = Pkcs11KeyStore(module=softhsm.module, token_label=softhsm.token_label, pin=softhsm.pin)
    reference, key = store.generate(key_id="k-hsm-attr", algorithm=KeyAlgorithm.ES256)
    private = key._private  # type: ignore[attr-defined]
    assert private[pkcs11.Attribute.SENSITIVE] is True
    assert private[pkcs11.Attribute.EXTRACTABLE] is False
    store.delete(key_id="k-hsm-attr", reference=reference)


def test_pkcs11_missing_token_or_module_is_a_clear_error(softhsm: SoftHsm, tmp_path: Any) -> None:
    with pytest.raises(KeyStoreError, match="token 'no-such-token' not found"):
        Pkcs11KeyStore(module=softhsm.module, token_label="no-such-token", pin="1")
    with pytest.raises(KeyStoreError, match="cannot load PKCS#11 module"):
        Pkcs11KeyStore(module=str(tmp_path / "missing.so"), token_label="x", pin="1")
    # PKCS#11 login is per process, so a wrong PIN is tried in a fresh process.
    script = (
        "from keys.stores.pkcs11 import Pkcs11KeyStore\n"
        f"Pkcs11KeyStore(module={softhsm.module!r}, token_label={softhsm.token_label!r}, "
        "pin='wrong-pin')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "cannot open PKCS#11 token 'tongxing-test'" in result.stderr
    assert "PinIncorrect" in result.stderr


def test_pkcs11_unknown_label(softhsm: SoftHsm) -> None:
    store = Pkcs11KeyStore(module=softhsm.module, token_label=softhsm.token_label, pin=softhsm.pin)
    with pytest.raises(KeyStoreError, match="not usable in the PKCS#11 token"):
        store.load(key_id="gone", algorithm=KeyAlgorithm.ES256, reference=b"gone")
