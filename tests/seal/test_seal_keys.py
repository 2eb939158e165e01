"""Seals with other keys than the default software P-256: in an HSM (SoftHSM2 over PKCS#11,
the key never leaves the token) and RSA-3072; the sealed PDFs verify like any other."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from core.settings import Settings
from keys import repository as key_repository
from tests.pki import SoftHsm
from tests.seal.world import make_world
from tongxing import create_app


def test_a_seal_key_in_the_hsm_seals_and_verifies(
    make_settings: Callable[..., Settings], softhsm: SoftHsm
) -> None:
    settings = make_settings(
        pkcs11_module=softhsm.module,
        pkcs11_token_label=softhsm.token_label,
        pkcs11_pin=softhsm.pin,
        pkcs11_purposes="seal",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        world = make_world(client)
        with world.domain.keys.database.transaction() as session:
            from seal import repository

            seal = repository.seal(session, world.seal_id)
            assert seal is not None
            key = key_repository.key(session, seal.key_id)
            assert key is not None and key.store == "pkcs11"
        for level in ("B-B", "B-T"):
            answer = world.sign(level=level)
            assert answer.status_code == 200, answer.text
            assert world.verify(answer.content)["indication"] == "TOTAL_PASSED"


def test_an_rsa_seal_key_seals_and_verifies(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(key_algorithm="RS256"))) as client:
        world = make_world(client)
        for level in ("B-B", "B-T", "B-LT"):
            answer = world.sign(level=level)
            assert answer.status_code == 200, answer.text
            report = world.verify(answer.content)
            assert report["indication"] == "TOTAL_PASSED", report
