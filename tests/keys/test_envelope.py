"""Envelope encryption of private keys: exact round trip, or a clear refusal."""

from __future__ import annotations

import os

import pytest

from keys.envelope import KeyDecryptionError, KeyEncryptionKey, open_private_key, seal_private_key

SALT = os.urandom(32)


@pytest.fixture(scope="module")
def kek() -> KeyEncryptionKey:
    return KeyEncryptionKey(b"correct horse battery staple, forty chars!", salt=SALT)


def test_round_trip(kek: KeyEncryptionKey) -> None:
    secret = os.urandom(138)
    blob = seal_private_key(kek, secret, key_id="k1")
    assert secret not in blob
    assert open_private_key(kek, blob, key_id="k1") == secret


def test_wrong_kek_is_refused(kek: KeyEncryptionKey) -> None:
    blob = seal_private_key(kek, b"private", key_id="k1")
    other = KeyEncryptionKey(b"another passphrase entirely, forty chars", salt=SALT)
    with pytest.raises(KeyDecryptionError, match="k1: wrong key-encryption key or corrupt"):
        open_private_key(other, blob, key_id="k1")


def test_blob_is_bound_to_its_key_id(kek: KeyEncryptionKey) -> None:
    blob = seal_private_key(kek, b"private", key_id="k1")
    with pytest.raises(KeyDecryptionError):
        open_private_key(kek, blob, key_id="k2")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_any_flipped_byte_is_detected(kek: KeyEncryptionKey, position: int) -> None:
    blob = bytearray(seal_private_key(kek, b"private", key_id="k1"))
    blob[position] ^= 0x01
    with pytest.raises(KeyDecryptionError):
        open_private_key(kek, bytes(blob), key_id="k1")


def test_truncated_or_foreign_blob(kek: KeyEncryptionKey) -> None:
    with pytest.raises(KeyDecryptionError, match="not a Tongxing key blob"):
        open_private_key(kek, b"-----BEGIN PRIVATE KEY-----", key_id="k1")
    blob = seal_private_key(kek, b"private", key_id="k1")
    with pytest.raises(KeyDecryptionError):
        open_private_key(kek, blob[:40], key_id="k1")


def test_check_value_tells_the_right_kek(kek: KeyEncryptionKey) -> None:
    check = kek.check_value()
    assert kek.matches(check)
    assert not KeyEncryptionKey(b"wrong wrong wrong wrong wrong wrong", salt=SALT).matches(check)
    assert not KeyEncryptionKey(
        b"correct horse battery staple, forty chars!", salt=os.urandom(32)
    ).matches(check)
