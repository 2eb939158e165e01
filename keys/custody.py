"""Key custody for one process: the KEK, the stores, and the cache of loaded signing keys.

Security contract: ``open`` refuses to run with a key-encryption key other than the one the
installation's keys were sealed with (checked against a stored check value, so no key has
to be decrypted to find out). Keys are loaded once and cached as key objects; nothing here
returns or logs private key material.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.database import Database
from core.readiness import NotReady
from core.settings import Settings, env_name
from keys import repository
from keys.algorithms import KeyAlgorithm
from keys.envelope import KeyEncryptionKey
from keys.models import KeyEncryptionParams, ManagedKey
from keys.stores import KeyStore, KeyStoreError, SigningKey
from keys.stores.software import SoftwareKeyStore


class CustodyError(RuntimeError):
    """Key custody cannot start or serve; the message is one line naming the setting."""


class KeyCustody:
    """Generates keys in the right store and hands out cached signing keys."""

    def __init__(self, *, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._kek: KeyEncryptionKey | None = None
        self._stores: dict[str, KeyStore] = {}
        self._loaded: dict[str, SigningKey] = {}
        self._remembered: dict[str, tuple[float, SigningKey]] = {}
        self._lock = threading.Lock()
        # Bumped whenever remembered keys are dropped (a rotation or a key change here), so
        # what is derived from the key set (keys.published.PublishedKeySet) is recomputed.
        self.generation = 0

    # --- start-up ---------------------------------------------------------------------

    def open(self, *, create: bool) -> bool:
        """Derive the KEK and check it against the installation's; with ``create``, set up
        the KEK parameters of a new installation. Returns whether the installation has them."""
        secret = self.settings.key_encryption_key_bytes()
        try:
            with self.database.transaction() as session:
                params = repository.kek_params(session)
                if params is None:
                    if not create:
                        return False
                    salt = os.urandom(32)
                    kek = KeyEncryptionKey(secret, salt=salt)
                    n, r, p = kek.parameters
                    session.add(
                        KeyEncryptionParams(
                            id=1,
                            salt=salt,
                            scrypt_n=n,
                            scrypt_r=r,
                            scrypt_p=p,
                            check_value=kek.check_value(),
                            created_at=datetime.now(UTC),
                        )
                    )
                else:
                    kek = KeyEncryptionKey(
                        secret,
                        salt=params.salt,
                        n=params.scrypt_n,
                        r=params.scrypt_r,
                        p=params.scrypt_p,
                    )
                    if not kek.matches(params.check_value):
                        raise CustodyError(
                            f"{env_name('key_encryption_key')}: this is not the key-encryption "
                            "key the installation's keys were sealed with"
                        )
        except IntegrityError:
            # Another process created the parameters first; use (and check against) theirs.
            return self.open(create=False)
        self._kek = kek
        return True

    @property
    def kek(self) -> KeyEncryptionKey:
        if self._kek is None:
            raise CustodyError("key custody is not open (run `tongxing keys init`)")
        return self._kek

    def store(self, name: str) -> KeyStore:
        """The store called ``name`` (``software`` or ``pkcs11``), opened on first use."""
        with self._lock:
            if name not in self._stores:
                self._stores[name] = self._open_store(name)
            return self._stores[name]

    def _open_store(self, name: str) -> KeyStore:
        if name == "software":
            return SoftwareKeyStore(self.kek)
        if name == "pkcs11":
            from keys.stores.pkcs11 import Pkcs11KeyStore

            settings = self.settings
            if not settings.pkcs11_module or not settings.pkcs11_token_label:
                raise CustodyError(
                    f"a key is kept in a PKCS#11 token but {env_name('pkcs11_module')} / "
                    f"{env_name('pkcs11_token_label')} are not set"
                )
            pin = settings.pkcs11_pin.get_secret_value() if settings.pkcs11_pin else ""
            try:
                return Pkcs11KeyStore(
                    module=settings.pkcs11_module, token_label=settings.pkcs11_token_label, pin=pin
                )
            except KeyStoreError as exc:
                raise CustodyError(f"{env_name('pkcs11_module')}: {exc}") from None
        raise CustodyError(f"unknown key store {name!r}")

    def store_for(self, purpose: str) -> str:
        """Which store new keys of ``purpose`` go into (settings decide)."""
        hsm = self.settings.hsm_purposes
        # The RS256 token keys follow the token-signing policy: same job, other algorithm.
        family = purpose.removesuffix("-rs256")
        return "pkcs11" if purpose in hsm or family in hsm or "all" in hsm else "software"

    def probe(self) -> None:
        """Readiness: custody is open (the hierarchy exists and the KEK matches).

        While it is not, each probe tries again, so an instance started before
        `tongxing keys init` becomes ready without a restart."""
        if self._kek is None:
            try:
                opened = self.open(create=False)
            except CustodyError as exc:
                raise NotReady(str(exc)) from None
            if not opened:
                raise NotReady("keys not initialised: run `tongxing keys init`")

    def close(self) -> None:
        """Close HSM sessions."""
        for store in self._stores.values():
            closer = getattr(store, "close", None)
            if closer:
                closer()

    # --- keys -----------------------------------------------------------------------------

    def generate(
        self,
        session: Session,
        *,
        purpose: str,
        algorithm: KeyAlgorithm,
        state: str,
        owner: str | None = None,
    ) -> SigningKey:
        """Create a key in the store chosen for ``purpose`` and record it in ``session``."""
        key_id = f"{purpose}-{uuid.uuid4().hex[:16]}"
        store = self.store(self.store_for(purpose))
        reference, key = store.generate(key_id=key_id, algorithm=algorithm)
        now = datetime.now(UTC)
        session.add(
            ManagedKey(
                id=key_id,
                purpose=purpose,
                algorithm=algorithm.value,
                store=store.name,
                reference=reference,
                public_key=key.public_key_der,
                state=state,
                owner=owner,
                created_at=now,
                activated_at=now if state == "active" else None,
            )
        )
        session.flush()  # certificates referencing the key may follow in this transaction
        with self._lock:
            self._loaded[key_id] = key
        return key

    def signing_key(self, session: Session, key_id: str) -> SigningKey:
        """The usable key ``key_id`` (the key object is cached after the first load; its
        record is read every time, so a key taken offline elsewhere stops signing here)."""
        row = repository.key(session, key_id)
        if row is None:
            raise CustodyError(f"key {key_id} does not exist")
        if row.reference is None:
            self.forget(key_id)
            raise CustodyError(f"key {key_id} is offline")
        with self._lock:
            cached = self._loaded.get(key_id)
        if cached is not None:
            return cached
        try:
            key = self.store(row.store).load(
                key_id=row.id, algorithm=KeyAlgorithm(row.algorithm), reference=row.reference
            )
        except KeyStoreError as exc:
            raise CustodyError(str(exc)) from None
        if key.public_key_der != row.public_key:
            raise CustodyError(f"key {key_id}: the store holds a different key than recorded")
        with self._lock:
            self._loaded[key_id] = key
        return key

    def remembered(
        self, name: str, *, seconds: float, load: Callable[[], SigningKey]
    ) -> SigningKey:
        """``load()``'s key, reused for ``seconds`` (per process)."""
        now = time.monotonic()
        with self._lock:
            found = self._remembered.get(name)
            if found is not None and now - found[0] < seconds:
                return found[1]
        key = load()
        with self._lock:
            self._remembered[name] = (now, key)
        return key

    def peek_remembered(self, name: str, *, seconds: float) -> SigningKey | None:
        """The remembered key if it is younger than ``seconds``, without loading."""
        with self._lock:
            found = self._remembered.get(name)
        return found[1] if found is not None and time.monotonic() - found[0] < seconds else None

    def forget_remembered(self) -> None:
        """Drop every remembered key (a rotation happened here)."""
        with self._lock:
            self._remembered.clear()
            self.generation += 1

    def forget(self, key_id: str) -> None:
        """Drop a cached key (it went offline or was destroyed)."""
        with self._lock:
            self._loaded.pop(key_id, None)
            self._remembered.clear()
            self.generation += 1
