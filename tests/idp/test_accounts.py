"""People, organisations and clients on both databases, with their audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from audit.models import AuditEntry
from idp import accounts, client_secrets, passwords, repository
from idp import clients as registry
from idp.accounts import AccountError
from idp.clients import ClientError
from tongxing.composition import Domain

PASSWORD = "correct horse battery"


def _user(domain: Domain, username: str = "zhangsan", **extra: object) -> str:
    with domain.keys.database.transaction() as session:
        user = accounts.create_user(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            username=username,
            display_name="张三",
            password=PASSWORD,
            actor="test",
            **extra,
        )  # type: ignore[arg-type]
        return user.id


def _events(domain: Domain) -> list[str]:
    with domain.keys.database.reading() as session:
        return list(session.scalars(select(AuditEntry.type).order_by(AuditEntry.index)).all())


def test_people_sign_in_with_argon2id(domain: Domain) -> None:
    user_id = _user(domain, email="ZS@Example.cn", phone="+86 13800000000")
    with domain.keys.database.transaction() as session:
        stored = repository.user_by_login(session, "zhangsan")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        for login in ("zhangsan", "zs@example.cn", "+8613800000000"):
            assert accounts.authenticate(session, login=login, password=PASSWORD).id == user_id
        assert accounts.authenticate(session, login="zhangsan", password="wrong password") is None
        assert accounts.authenticate(session, login="nobody", password=PASSWORD) is None
    with domain.keys.database.transaction() as session:
        accounts.set_disabled(
            session, events=domain.audit, login="zhangsan", disabled=True, actor="test"
        )
    with domain.keys.database.transaction() as session:
        assert accounts.authenticate(session, login="zhangsan", password=PASSWORD) is None
    assert _events(domain)[-2:] == ["user.created", "user.disabled"]


def test_old_hashes_are_upgraded_at_login(domain: Domain) -> None:
    from argon2 import PasswordHasher

    _user(domain)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with domain.keys.database.transaction() as session:
        repository.user_by_login(session, "zhangsan").password_hash = weak  # type: ignore[union-attr]
    with domain.keys.database.transaction() as session:
        assert accounts.authenticate(session, login="zhangsan", password=PASSWORD) is not None
    with domain.keys.database.reading() as session:
        upgraded = repository.user_by_login(session, "zhangsan").password_hash  # type: ignore[union-attr]
    assert upgraded != weak and "m=47104" in upgraded


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "X"}, "usernames have"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"proofing_level": 5}, "proofing level"),
        ({"national_id": "110105194912310021"}, "check character"),
    ],
)
def test_bad_people(domain: Domain, changes: dict[str, str], message: str) -> None:
    values = {"username": "lisi", **changes}
    with pytest.raises(AccountError, match=message):
        _user(domain, **values)


def test_weak_passwords_and_duplicates(domain: Domain) -> None:
    _user(domain)
    with pytest.raises(AccountError, match="already used"):
        _user(domain)
    with (
        domain.keys.database.transaction() as session,
        pytest.raises(AccountError, match="at least"),
    ):
        accounts.set_password(
            session, events=domain.audit, login="zhangsan", password="short", actor="t"
        )
    with pytest.raises(passwords.WeakPassword, match="only digits"):
        passwords.check_policy("12345678901234")


def test_identity_numbers_are_encrypted_masked_and_unique(domain: Domain) -> None:
    user_id = _user(domain, national_id="11010519491231002x")
    with domain.keys.database.reading() as session:
        raw = session.execute(text("SELECT * FROM users")).mappings().one()
        assert "11010519491231002X" not in repr(dict(raw))
        assert raw["national_id_masked"] == "110***********002X"
        user = session.get(accounts.User, user_id)
        assert accounts.reveal_national_id(session, user, data_keys=domain.data_keys) == (
            "11010519491231002X"
        )
    with pytest.raises(AccountError, match="belongs to another account"):
        _user(domain, username="lisi", national_id="11010519491231002X")
    assert "11010519491231002X" not in " ".join(_events(domain))


def test_organisations_and_members(domain: Domain) -> None:
    _user(domain)
    with domain.keys.database.transaction() as session:
        org = accounts.create_organisation(
            session,
            events=domain.audit,
            name="某某科技有限公司",
            uscc="91350100m000100y43",
            actor="t",
        )
        accounts.add_member(
            session,
            events=domain.audit,
            organisation="91350100M000100Y43",
            login="zhangsan",
            role="admin",
            actor="t",
        )
        accounts.add_member(
            session,
            events=domain.audit,
            organisation=org.id,
            login="zhangsan",
            role="member",
            actor="t",
        )
        user = repository.user_by_login(session, "zhangsan")
        assert [(m.role, o.uscc) for m, o in repository.memberships_of(session, user.id)] == [
            ("member", "91350100M000100Y43")
        ]
        with pytest.raises(AccountError, match="exists already"):
            accounts.create_organisation(
                session, events=domain.audit, name="again", uscc="91350100M000100Y43", actor="t"
            )
        with pytest.raises(AccountError, match="role must be"):
            accounts.add_member(
                session,
                events=domain.audit,
                organisation=org.id,
                login="zhangsan",
                role="owner",
                actor="t",
            )


def _register(domain: Domain, **overrides: object) -> tuple[object, str | None]:
    values: dict[str, object] = {
        "client_id": "permits",
        "name": "证照系统",
        "grant_types": ["authorization_code"],
        "scopes": ["openid", "profile"],
        "redirect_uris": ["https://permits.example/cb"],
        **overrides,
    }
    with domain.keys.database.transaction() as session:
        return registry.register(
            session, data_keys=domain.data_keys, events=domain.audit, actor="t", **values
        )  # type: ignore[arg-type]


def test_confidential_client_secret_is_only_a_digest(domain: Domain) -> None:
    _, secret = _register(domain)
    assert secret is not None and len(secret) >= 43
    with domain.keys.database.transaction() as session:
        stored = repository.client(session, "permits")
        key = domain.data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
        assert stored.secret_digest is not None and secret.encode() not in stored.secret_digest
        assert client_secrets.matches(secret, stored=stored.secret_digest, key=key)
        assert not client_secrets.matches(secret + "x", stored=stored.secret_digest, key=key)
        new = registry.rotate_secret(
            session, data_keys=domain.data_keys, events=domain.audit, client_id="permits", actor="t"
        )
        assert new is not None and not client_secrets.matches(
            secret, stored=stored.secret_digest, key=key
        )
    assert _events(domain)[-2:] == ["client.created", "client.secret_rotated"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"redirect_uris": ["http://permits.example/cb"]}, "must use https"),
        ({"redirect_uris": ["https://permits.example/cb#frag"]}, "fragment"),
        ({"redirect_uris": ["/cb"]}, "absolute"),
        ({"redirect_uris": []}, "at least one redirect URI"),
        ({"scopes": ["profile"]}, "openid scope"),
        (
            {"auth_method": "none", "grant_types": ["client_credentials"], "redirect_uris": []},
            "only use the authorization code",
        ),
        ({"auth_method": "private_key_jwt"}, "needs --jwks-uri"),
        ({"secret": "short"}, "at least 20"),
        ({"secret": "a" * 30}, "repetitive"),
        ({"client_id": "x"}, "client ids"),
        ({"grant_types": ["implicit"]}, "grant types"),
    ],
)
def test_client_rules(domain: Domain, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        _register(domain, **overrides)


def test_loopback_http_and_public_clients(domain: Domain) -> None:
    client, secret = _register(
        domain,
        client_id="native-app",
        auth_method="none",
        redirect_uris=["http://127.0.0.1:8765/callback"],
    )
    assert secret is None and client.secret_digest is None  # type: ignore[attr-defined]
    _, machine_secret = _register(
        domain,
        client_id="cert-system",
        grant_types=["client_credentials"],
        scopes=["seal:sign"],
        redirect_uris=[],
    )
    assert machine_secret is not None


@pytest.mark.parametrize(
    ("field", "uri", "message"),
    [
        ("redirect_uris", ["https://user:pw@permits.example/cb"], "user information"),
        ("redirect_uris", ["https://good.example\\@evil.example/cb"], "backslashes"),
        ("redirect_uris", ["https://permits.example/c b"], "spaces"),
        ("redirect_uris", ["https://permits.example:99999/cb"], "invalid port"),
        ("backchannel_logout_uri", "http://127.0.0.1:6379/", "must use https"),
    ],
)
def test_uri_tricks_are_refused(domain: Domain, field: str, uri: object, message: str) -> None:
    with pytest.raises(ClientError, match=message):
        _register(domain, **{field: uri})


def test_non_ascii_digits_and_phone_shaped_usernames(domain: Domain) -> None:
    with pytest.raises(AccountError, match="17 digits"):
        _user(domain, username="lisi", national_id="１１０１０５１９４９１２３１００２X")
    with pytest.raises(AccountError, match="phone"):
        _user(domain, username="lisi", phone="+８６１３８００００００００")
    with pytest.raises(AccountError, match="at least one letter"):
        _user(domain, username="13800000000")


def test_a_rolled_back_data_key_is_never_used(domain: Domain) -> None:
    purpose = "test-rollback-key"
    created: list[bytes] = []

    def request_that_fails() -> None:
        with domain.keys.database.transaction() as session:
            created.append(domain.data_keys.get(session, purpose))
            raise RuntimeError("the request failed after creating the key")

    with pytest.raises(RuntimeError):
        request_that_fails()
    with domain.keys.database.transaction() as session:
        second = domain.data_keys.get(session, purpose)
    with domain.keys.database.reading() as session:
        assert domain.data_keys.get(session, purpose) == second
    assert created[0] != second


def test_argon2_runs_at_most_one_hash_per_core_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading
    import time

    assert passwords._SLOTS._value == len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    real = passwords._HASHER
    stored = real.hash(PASSWORD)
    running, most = 0, 0
    lock = threading.Lock()

    class Counting:
        """The real hasher, noting how many verifications run at once."""

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def verify(self, digest: str, password: str) -> bool:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            try:
                time.sleep(0.02)  # long enough for the others to try to start meanwhile
                return real.verify(digest, password)
            finally:
                with lock:
                    running -= 1

    monkeypatch.setattr(passwords, "_HASHER", Counting())
    monkeypatch.setattr(passwords, "_SLOTS", threading.BoundedSemaphore(1))  # one core
    results: list[tuple[bool, bool]] = []
    attempts = [PASSWORD, "wrong password", PASSWORD, "another wrong one"]
    threads = [
        threading.Thread(target=lambda p=p: results.append(passwords.verify_password(stored, p)))
        for p in attempts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1  # they waited their turn
    assert sorted(results) == [(False, False), (False, False), (True, False), (True, False)]
