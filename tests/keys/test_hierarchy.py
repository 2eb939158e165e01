"""The CA hierarchy on both databases: idempotent init, chains, seal certificates, status."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID
from sqlalchemy import select

from audit.models import AuditEntry
from keys import repository
from keys.certificate_status import set_status
from keys.custody import CustodyError
from keys.hierarchy import SEAL_CA, HierarchyError
from keys.runtime import KeyServices
from keys.seal_certificates import issue_seal_certificate
from tests.pki import SoftHsm, key_settings, opened_key_services


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _issue_seal(ks: KeyServices, **overrides: object) -> tuple[x509.Certificate, str]:
    with ks.database.transaction() as session:
        row = issue_seal_certificate(
            session,
            hierarchy=ks.hierarchy,
            owner=str(overrides.get("owner", "seal-1")),
            organization="某某市市场监督管理局",
            uscc="11330100MB0000000X",
            seal_name="某某市市场监督管理局公章",
            actor="test",
            reuse_key_id=overrides.get("reuse_key_id"),  # type: ignore[arg-type]
        )
        return _cert(row.der), row.key_id


def test_init_is_idempotent(key_services: KeyServices) -> None:
    assert key_services.initialise(actor="test").created == []
    with key_services.database.transaction() as session:
        kinds = sorted(c.kind for c in repository.certificates(session))
        states = sorted(k.state for k in repository.keys(session, purpose="token-signing"))
    assert kinds == ["ca", "ca", "ca", "ocsp", "ocsp", "ocsp", "tsa"]
    assert states == ["active", "next"]


def test_chain_and_extensions(key_services: KeyServices) -> None:
    with key_services.database.transaction() as session:
        root = _cert(key_services.hierarchy.ca_certificate(session, "root").der)
        seal_ca = _cert(key_services.hierarchy.ca_certificate(session, "seal").der)
        infra = _cert(key_services.hierarchy.ca_certificate(session, "infra").der)
        tsa = _cert(repository.certificates(session, kind="tsa")[0].der)
    root.verify_directly_issued_by(root)
    seal_ca.verify_directly_issued_by(root)
    infra.verify_directly_issued_by(root)
    tsa.verify_directly_issued_by(infra)
    constraints = seal_ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.ExtendedKeyUsageOID.TIME_STAMPING]


def test_seal_certificate_content(key_services: KeyServices) -> None:
    certificate, _ = _issue_seal(key_services)
    with key_services.database.transaction() as session:
        seal_ca = _cert(key_services.hierarchy.ca_certificate(session, SEAL_CA).der)
    certificate.verify_directly_issued_by(seal_ca)
    subject = certificate.subject
    assert (
        subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "某某市市场监督管理局"
    )
    assert (
        subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "某某市市场监督管理局公章"
    )
    identifier = subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value
    assert identifier == "NTRCN-11330100MB0000000X"
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    points = certificate.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS)
    assert points.value[0].full_name[0].value == "http://127.0.0.1:8000/pki/crl/seal.crl"
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    urls = {d.access_method._name: d.access_location.value for d in access.value}
    assert urls == {
        "OCSP": "http://127.0.0.1:8000/pki/ocsp",
        "caIssuers": "http://127.0.0.1:8000/pki/ca/seal.crt",
    }


def test_renew_with_same_or_new_key(key_services: KeyServices) -> None:
    first, key_id = _issue_seal(key_services)
    same, same_key = _issue_seal(key_services, reuse_key_id=key_id)
    fresh, fresh_key = _issue_seal(key_services)
    assert same_key == key_id and same.public_key() == first.public_key()
    assert same.serial_number != first.serial_number
    assert fresh_key != key_id and fresh.public_key() != first.public_key()
    with pytest.raises(HierarchyError, match="is not a key of seal other"):
        _issue_seal(key_services, owner="other", reuse_key_id=key_id)


def test_status_changes_and_their_events(key_services: KeyServices) -> None:
    certificate, _ = _issue_seal(key_services)
    serial = format(certificate.serial_number, "x")
    other = format(_issue_seal(key_services)[0].serial_number, "x")
    status = functools.partial(set_status, hierarchy=key_services.hierarchy)
    with key_services.database.transaction() as session:
        assert (
            status(session, issuer="seal", serial=serial, status="suspended", actor="t").status
            == "suspended"
        )
        assert (
            status(session, issuer="seal", serial=serial, status="good", actor="t").status == "good"
        )
        row = status(
            session,
            issuer="seal",
            serial=serial,
            status="revoked",
            actor="t",
            reason="key_compromise",
        )
        assert (row.status, row.revocation_reason) == ("revoked", "key_compromise")
    with key_services.database.transaction() as session:
        with pytest.raises(HierarchyError, match="already revoked"):
            status(session, issuer="seal", serial=serial, status="suspended", actor="t")
        with pytest.raises(HierarchyError, match="unknown revocation reason"):
            status(session, issuer="seal", serial=other, status="revoked", actor="t", reason="x")
        with pytest.raises(HierarchyError, match="no certificate"):
            status(session, issuer="infra", serial=serial, status="revoked", actor="t")
        query = (
            select(AuditEntry.type)
            .where(AuditEntry.subject == f"seal:{serial}")
            .order_by(AuditEntry.index)
        )
        types = session.scalars(query).all()
    assert types == [
        "certificate.issued",
        "certificate.suspended",
        "certificate.reinstated",
        "certificate.revoked",
    ]


def test_wrong_kek_is_refused_at_open(key_services: KeyServices, tmp_path: Path) -> None:
    other = key_settings(database_url=key_services.database.url, data_dir=tmp_path)
    with opened_key_services(other, initialise=False) as wrong:  # noqa: SIM117
        with pytest.raises(CustodyError, match="TONGXING_KEY_ENCRYPTION_KEY: this is not the key"):
            wrong.custody.open(create=False)


def test_corrupt_key_blob_is_a_clear_error(key_services: KeyServices, tmp_path: Path) -> None:
    _, key_id = _issue_seal(key_services)
    with key_services.database.transaction() as session:
        row = repository.key(session, key_id)
        assert row is not None and row.reference is not None
        row.reference = row.reference[:-1] + bytes([row.reference[-1] ^ 1])
    fresh = key_settings(database_url=key_services.database.url, data_dir=tmp_path)
    fresh = fresh.model_copy(
        update={"key_encryption_key": key_services.custody.settings.key_encryption_key}
    )
    with opened_key_services(fresh, initialise=False) as other:
        other.custody.open(create=False)
        with (
            other.database.transaction() as session,
            pytest.raises(CustodyError, match=f"key {key_id}: wrong key-encryption key or corrupt"),
        ):
            other.custody.signing_key(session, key_id)


def test_seal_keys_in_the_hsm(database_url: str, tmp_path: Path, softhsm: SoftHsm) -> None:
    settings = key_settings(
        database_url=database_url,
        data_dir=tmp_path,
        pkcs11_module=softhsm.module,
        pkcs11_token_label=softhsm.token_label,
        pkcs11_pin=softhsm.pin,
        pkcs11_purposes="seal",
    )
    with opened_key_services(settings) as ks:
        certificate, key_id = _issue_seal(ks)
        with ks.database.transaction() as session:
            row = repository.key(session, key_id)
            assert row is not None and row.store == "pkcs11"
            assert (
                repository.key(session, repository.ca(session, "seal").key_id).store == "software"
            )  # type: ignore[union-attr]
            seal_ca = _cert(ks.hierarchy.ca_certificate(session, SEAL_CA).der)
        certificate.verify_directly_issued_by(seal_ca)


@pytest.mark.parametrize("spelling", ["upper", "colons", "0x"])
def test_serials_are_accepted_as_operators_write_them(
    key_services: KeyServices, spelling: str
) -> None:
    certificate, _ = _issue_seal(key_services)
    raw = format(certificate.serial_number, "x")
    written = {
        "upper": raw.upper(),
        "colons": ":".join(raw[i : i + 2] for i in range(0, len(raw), 2)),
        "0x": "0x" + raw,
    }[spelling]
    with key_services.database.transaction() as session:
        row = set_status(
            session,
            hierarchy=key_services.hierarchy,
            issuer="seal",
            serial=written,
            status="suspended",
            actor="t",
        )
    assert row.serial == raw
    with (
        key_services.database.transaction() as session,
        pytest.raises(HierarchyError, match="not a hexadecimal serial"),
    ):
        set_status(
            session,
            hierarchy=key_services.hierarchy,
            issuer="seal",
            serial="xyz",
            status="suspended",
            actor="t",
        )
