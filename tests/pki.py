"""The test PKI, declared once: key services on a test database, and SoftHSM2 discovery."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.database import Database
from core.settings import Settings, load_settings
from keys.runtime import KeyServices
from tests import warm_keys
from tests.conftest import strong_secret
from tongxing.composition import Domain, build_domain


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token set up for the test session."""

    module: str
    token_label: str
    pin: str


def softhsm_module() -> str | None:
    """The SoftHSM2 PKCS#11 module, found through the package manager (or the env)."""
    if os.environ.get("TX_TEST_PKCS11_MODULE"):
        return os.environ["TX_TEST_PKCS11_MODULE"]
    if shutil.which("dpkg-query") is None:
        return None
    listing = subprocess.run(
        ["dpkg-query", "-L", "libsofthsm2", "softhsm2"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for line in listing.splitlines():
        if line.endswith("/libsofthsm2.so") and Path(line).exists():
            return line
    return None


def init_softhsm(directory: Path) -> SoftHsm:
    """A fresh token in ``directory``; sets SOFTHSM2_CONF for this process and children."""
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        raise RuntimeError("SoftHSM2 is not installed (Debian package softhsm2)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    config = directory / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(config)
    label, pin = "tongxing-test", "1234-test"
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            "5678-test",
        ],
        check=True,
        capture_output=True,
    )
    return SoftHsm(module=module, token_label=label, pin=pin)


def key_settings(*, database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Production settings for key tests."""
    values: dict[str, Any] = {
        "mode": "production",
        "data_dir": str(data_dir),
        "database_url": database_url,
        "issuer": "http://127.0.0.1:8000",
        "key_encryption_key": strong_secret(),
        **overrides,
    }
    return load_settings({}, **values)


@contextmanager
def opened_domain(settings: Settings, *, initialise: bool = True) -> Iterator[Domain]:
    """The domain services for ``settings`` (hierarchy created), closed afterwards."""
    database = Database(settings.resolved_database_url)
    domain = build_domain(settings=settings, database=database)
    try:
        if initialise:
            warm_keys.initialise(domain.keys)
        yield domain
    finally:
        domain.close()
        database.dispose()


@contextmanager
def opened_key_services(settings: Settings, *, initialise: bool = True) -> Iterator[KeyServices]:
    """Key services for ``settings``, hierarchy created, closed afterwards."""
    with opened_domain(settings, initialise=initialise) as domain:
        yield domain.keys
