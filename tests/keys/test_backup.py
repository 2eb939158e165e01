"""Encrypted backup and restore, and keeping the root CA key offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from keys import backup, crl, repository
from keys.certificate_status import set_status
from keys.hierarchy import HierarchyError
from keys.runtime import KeyServices
from keys.seal_certificates import issue_seal_certificate
from tests.pki import key_settings, opened_key_services

PASSPHRASE = b"a long and memorable backup passphrase"


def _public_keys(ks: KeyServices) -> dict[str, bytes]:
    with ks.database.transaction() as session:
        return {row.id: row.public_key for row in repository.keys(session)}


def test_backup_restores_identical_keys_into_an_empty_install(
    key_services: KeyServices, tmp_path: Path
) -> None:
    with key_services.database.transaction() as session:
        bundle = backup.export_bundle(session, kek=key_services.custody.kek, passphrase=PASSPHRASE)
        root_der = key_services.hierarchy.ca_certificate(session, "root").der
    assert b"PRIVATE KEY" not in bundle
    target = key_settings(database_url=f"sqlite:///{tmp_path / 'restored.db'}", data_dir=tmp_path)
    from core.database import Database
    from tongxing import migrate

    database = Database(target.resolved_database_url)
    migrate.upgrade(database)
    database.dispose()
    with opened_key_services(target, initialise=False) as restored:
        restored.custody.open(create=True)
        with restored.database.transaction() as session:
            count = backup.restore_bundle(
                session, kek=restored.custody.kek, bundle=bundle, passphrase=PASSPHRASE
            )
        assert count == len(_public_keys(key_services))
        assert _public_keys(restored) == _public_keys(key_services)
        with restored.database.transaction() as session:
            assert restored.hierarchy.ca_certificate(session, "root").der == root_der
            # The restored keys sign under the new installation's KEK.
            der, _ = crl.current_crl(session, hierarchy=restored.hierarchy, ca_name="seal")
        seal_ca = x509.load_der_x509_certificate(_ca_der(restored, "seal"))
        assert x509.load_der_x509_crl(der).is_signature_valid(seal_ca.public_key())  # type: ignore[arg-type]
        with (
            restored.database.transaction() as session,
            pytest.raises(backup.BackupError, match="already has keys"),
        ):
            backup.restore_bundle(
                session, kek=restored.custody.kek, bundle=bundle, passphrase=PASSPHRASE
            )


def _ca_der(ks: KeyServices, name: str) -> bytes:
    with ks.database.transaction() as session:
        return ks.hierarchy.ca_certificate(session, name).der


def test_wrong_passphrase_and_foreign_files(key_services: KeyServices) -> None:
    with key_services.database.transaction() as session:
        bundle = backup.export_bundle(session, kek=key_services.custody.kek, passphrase=PASSPHRASE)
        with pytest.raises(backup.BackupError, match="wrong backup passphrase"):
            backup.restore_bundle(
                session,
                kek=key_services.custody.kek,
                bundle=bundle,
                passphrase=b"not the passphrase at all",
            )
        with pytest.raises(backup.BackupError, match="not a Tongxing key backup"):
            backup.restore_bundle(
                session, kek=key_services.custody.kek, bundle=b"\x00garbage", passphrase=PASSPHRASE
            )
        with pytest.raises(backup.BackupError, match="at least 12 characters"):
            backup.export_bundle(session, kek=key_services.custody.kek, passphrase=b"short")


def test_root_offline_then_online(key_services: KeyServices) -> None:
    hierarchy = key_services.hierarchy
    with key_services.database.transaction() as session:
        bundle = backup.take_root_offline(
            session, hierarchy=hierarchy, passphrase=PASSPHRASE, actor="test"
        )
    with key_services.database.transaction() as session:
        root_key = repository.key(session, repository.ca(session, "root").key_id)  # type: ignore[union-attr]
        assert root_key is not None and root_key.reference is None and root_key.state == "offline"
        # Issuing still works: seal certificates come from the seal CA.
        issue_seal_certificate(
            session,
            hierarchy=hierarchy,
            owner="s",
            organization="o",
            uscc="91330100MA00000000",
            seal_name="n",
            actor="t",
        )
        # The root CRL signed before going offline is served, valid for a year.
        der, next_update = crl.current_crl(session, hierarchy=hierarchy, ca_name="root")
        assert (next_update - x509.load_der_x509_crl(der).last_update_utc).days >= 364
        with pytest.raises(HierarchyError, match="offline"):
            hierarchy.issuer(session, "root")
    with (
        key_services.database.transaction() as session,
        pytest.raises(backup.BackupError, match="already offline"),
    ):
        backup.take_root_offline(session, hierarchy=hierarchy, passphrase=PASSPHRASE, actor="test")
    with key_services.database.transaction() as session:
        backup.bring_root_online(
            session, hierarchy=hierarchy, bundle=bundle, passphrase=PASSPHRASE, actor="test"
        )
    with key_services.database.transaction() as session:
        assert hierarchy.issuer(session, "root").key.sign(b"x")


def test_revocations_while_the_root_is_offline_reach_the_root_crl(
    key_services: KeyServices,
) -> None:
    hierarchy = key_services.hierarchy
    with key_services.database.transaction() as session:
        infra = x509.load_der_x509_certificate(hierarchy.ca_certificate(session, "infra").der)
        bundle = backup.take_root_offline(
            session, hierarchy=hierarchy, passphrase=PASSPHRASE, actor="test"
        )
    with key_services.database.transaction() as session:
        set_status(
            session,
            hierarchy=hierarchy,
            issuer="root",
            serial=format(infra.serial_number, "x"),
            status="revoked",
            reason="ca_compromise",
            actor="test",
        )
    with key_services.database.transaction() as session:
        stale, _ = crl.current_crl(session, hierarchy=hierarchy, ca_name="root")
        # The offline root cannot re-sign: its last CRL stands (OCSP already says revoked).
        assert (
            x509.load_der_x509_crl(stale).get_revoked_certificate_by_serial_number(
                infra.serial_number
            )
            is None
        )
        backup.bring_root_online(
            session, hierarchy=hierarchy, bundle=bundle, passphrase=PASSPHRASE, actor="test"
        )
    with key_services.database.transaction() as session:
        fresh, _ = crl.current_crl(session, hierarchy=hierarchy, ca_name="root")
    assert (
        x509.load_der_x509_crl(fresh).get_revoked_certificate_by_serial_number(infra.serial_number)
        is not None
    )


def test_a_key_taken_offline_elsewhere_stops_signing_here(
    key_services: KeyServices, tmp_path: Path
) -> None:
    other_settings = key_services.custody.settings
    with opened_key_services(other_settings, initialise=False) as elsewhere:
        elsewhere.custody.open(create=False)
        with elsewhere.database.transaction() as session:
            assert elsewhere.hierarchy.issuer(session, "root")  # loaded and cached there
        with key_services.database.transaction() as session:
            backup.take_root_offline(
                session, hierarchy=key_services.hierarchy, passphrase=PASSPHRASE, actor="test"
            )
        with (
            elsewhere.database.transaction() as session,
            pytest.raises(HierarchyError, match="offline"),
        ):
            elsewhere.hierarchy.issuer(session, "root")


def test_altered_bundle_is_refused(key_services: KeyServices, tmp_path: Path) -> None:
    import json

    with key_services.database.transaction() as session:
        bundle = backup.export_bundle(session, kek=key_services.custody.kek, passphrase=PASSPHRASE)
    document = json.loads(bundle)
    document["certificates"][0]["status"] = "revoked"
    target = key_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", data_dir=tmp_path)
    from core.database import Database
    from tongxing import migrate

    database = Database(target.resolved_database_url)
    migrate.upgrade(database)
    database.dispose()
    with opened_key_services(target, initialise=False) as restored:
        restored.custody.open(create=True)
        with (
            restored.database.transaction() as session,
            pytest.raises(backup.BackupError, match="has been altered"),
        ):
            backup.restore_bundle(
                session,
                kek=restored.custody.kek,
                bundle=json.dumps(document).encode(),
                passphrase=PASSPHRASE,
            )


def test_no_key_material_in_logs(
    key_services: KeyServices, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    with key_services.database.transaction() as session:
        bundle = backup.export_bundle(session, kek=key_services.custody.kek, passphrase=PASSPHRASE)
        key_services.hierarchy.issuer(session, "seal").key.sign(b"x")
        rows = repository.keys(session)
    logged = caplog.text
    assert "PRIVATE KEY" not in logged
    for row in rows:
        assert row.reference is not None
        assert row.reference.hex() not in logged
    assert bundle.decode()[:50] not in logged


def test_data_keys_travel_with_the_backup(domain: object, tmp_path: Path) -> None:
    from idp import client_secrets, repository
    from idp import clients as registry

    source = domain  # the full domain: keys, audit log and data keys
    with source.keys.database.transaction() as session:  # type: ignore[attr-defined]
        _, secret = registry.register(
            session,
            data_keys=source.data_keys,
            events=source.audit,  # type: ignore[attr-defined]
            client_id="cert-system",
            name="c",
            grant_types=["client_credentials"],
            scopes=["seal:sign"],
            actor="t",
        )
        digest = repository.client(session, "cert-system").secret_digest  # type: ignore[union-attr]
        bundle = backup.export_bundle(
            session,
            kek=source.keys.custody.kek,  # type: ignore[attr-defined]
            passphrase=PASSPHRASE,
        )
    target = key_settings(database_url=f"sqlite:///{tmp_path / 'dk.db'}", data_dir=tmp_path)
    from core.database import Database
    from tests.pki import opened_domain
    from tongxing import migrate

    database = Database(target.resolved_database_url)
    migrate.upgrade(database)
    database.dispose()
    with opened_domain(target, initialise=False) as restored:
        restored.keys.custody.open(create=True)
        with restored.keys.database.transaction() as session:
            backup.restore_bundle(
                session, kek=restored.keys.custody.kek, bundle=bundle, passphrase=PASSPHRASE
            )
        with restored.keys.database.transaction() as session:
            key = restored.data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
    assert secret is not None
    assert client_secrets.matches(secret, stored=digest, key=key)
