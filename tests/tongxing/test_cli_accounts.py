"""``tongxing users``, ``orgs`` and ``clients`` as an administrator uses them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.database import Database
from idp import repository
from tests.conftest import strong_secret
from tests.in_process import tongxing


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    values = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path_factory.mktemp("accounts")),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=values).returncode == 0
    assert tongxing("keys", "init", env=values).returncode == 0
    return values


def test_people_and_organisations(env: dict[str, str]) -> None:
    created = tongxing(
        "users",
        "create",
        "--username",
        "wangwu",
        "--password-stdin",
        "--national-id-stdin",
        "--name",
        "王五",
        env=env,
        stdin="correct horse battery\n11010519491231002X\n",
    )
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.strip().splitlines()[-1]
    assert len(user_id) == 32
    listing = json.loads(tongxing("users", "list", "--json", env=env).stdout)
    assert listing[0]["national_id"] == "110***********002X"
    weak = tongxing(
        "users", "create", "--username", "zhaoliu", "--password-stdin", env=env, stdin="123\n"
    )
    assert weak.returncode == 2 and weak.stderr.strip() == (
        "error: passwords need at least 10 characters"
    )
    org = tongxing(
        "orgs", "create", "--name", "某某科技有限公司", "--uscc", "91350100M000100Y43", env=env
    )
    assert org.returncode == 0 and len(org.stdout.strip()) == 32
    member = tongxing(
        "orgs",
        "add-member",
        "--org",
        "91350100M000100Y43",
        "--user",
        "wangwu",
        "--role",
        "admin",
        env=env,
    )
    assert member.returncode == 0, member.stderr
    bad = tongxing("orgs", "create", "--name", "x", "--uscc", "91350100M000100Y44", env=env)
    assert bad.returncode == 2 and "check character" in bad.stderr
    changed = tongxing(
        "users", "set-password", "wangwu", env=env, stdin="another long passphrase\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert tongxing("users", "disable", "wangwu", env=env).stdout.strip() == "disabled"


def test_clients(env: dict[str, str], tmp_path: Path) -> None:
    created = tongxing(
        "clients",
        "create",
        "--client-id",
        "housing",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "openid profile",
        "--redirect-uri",
        "https://housing.example/cb",
        "--post-logout-redirect-uri",
        "https://housing.example/",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().splitlines()[-1] == "housing"
    assert created.stderr.startswith("client secret (shown once): ")
    chosen = tongxing(
        "clients",
        "create",
        "--client-id",
        "cert-system",
        "--grant-type",
        "client_credentials",
        "--scope",
        "seal:sign",
        "--client-secret-stdin",
        env=env,
        stdin="a chosen secret of enough length\n",
    )
    assert chosen.returncode == 0 and "shown once" not in chosen.stderr
    public = tongxing(
        "clients",
        "create",
        "--client-id",
        "mobile",
        "--public",
        "--grant-type",
        "authorization_code",
        "--scope",
        "openid",
        "--redirect-uri",
        "http://127.0.0.1:7000/cb",
        env=env,
    )
    assert public.returncode == 0, public.stderr
    refused = tongxing(
        "clients",
        "create",
        "--client-id",
        "evil",
        "--grant-type",
        "authorization_code",
        "--scope",
        "openid",
        "--redirect-uri",
        "http://evil.example/cb",
        env=env,
    )
    assert refused.returncode == 2 and "must use https" in refused.stderr
    listing = {
        c["client_id"]: c for c in json.loads(tongxing("clients", "list", "--json", env=env).stdout)
    }
    assert listing["mobile"]["auth_method"] == "none"
    assert all(set(c) & {"secret", "secret_digest"} == set() for c in listing.values())
    rotated = tongxing("clients", "rotate-secret", "housing", env=env)
    assert rotated.returncode == 0 and "shown once" in rotated.stderr
    assert tongxing("clients", "disable", "housing", env=env).stdout.strip() == "disabled"
    audit = tongxing("audit", "verify", env=env)
    assert audit.returncode == 0, audit.stderr


PW = "correct horse battery\n"


@pytest.fixture
def appointed(tmp_path: Path) -> dict[str, str]:
    """An installation past ``admin bootstrap``: anna (system), bert (security), cora (audit)."""
    values = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
    }
    assert tongxing("db", "upgrade", env=values).returncode == 0
    assert tongxing("keys", "init", env=values).returncode == 0
    for login in ("anna", "bert", "cora"):  # before the first appointment: no --as needed
        made = tongxing(
            "users", "create", "--username", login, "--password-stdin", env=values, stdin=PW
        )
        assert made.returncode == 0, made.stderr
    done = tongxing(
        "admin",
        "bootstrap",
        "--system",
        "anna",
        "--security",
        "bert",
        "--audit",
        "cora",
        env=values,
    )
    assert done.returncode == 0, done.stderr
    return values


def test_after_the_first_appointment_every_command_says_who_acts(
    appointed: dict[str, str],
) -> None:
    env = appointed
    anonymous = tongxing("users", "create", "--username", "dora", env=env)
    assert anonymous.returncode == 2 and "--as" in anonymous.stderr
    wrong_role = tongxing("users", "create", "--username", "dora", "--as", "bert", env=env)
    assert wrong_role.returncode == 2 and "system administrator" in wrong_role.stderr
    for login in ("dora", "emil", "fay"):
        made = tongxing(
            "users",
            "create",
            "--username",
            login,
            "--password-stdin",
            "--as",
            "anna",
            env=env,
            stdin=PW,
        )
        assert made.returncode == 0, made.stderr
    assert (
        tongxing(
            "orgs", "create", "--name", "某某科技有限公司", "--uscc", "91350100M000100Y43", env=env
        ).returncode
        == 2
    )
    org = tongxing(
        "orgs",
        "create",
        "--name",
        "某某科技有限公司",
        "--uscc",
        "91350100M000100Y43",
        "--as",
        "anna",
        env=env,
    )
    assert org.returncode == 0, org.stderr
    member = ("orgs", "add-member", "--org", "91350100M000100Y43")
    assert (
        tongxing(*member, "--user", "emil", "--role", "admin", "--as", "anna", env=env).returncode
        == 0
    )
    # The organisation's administrator manages its members; a plain person does not.
    assert tongxing(*member, "--user", "fay", "--as", "emil", env=env).returncode == 0
    refused = tongxing(*member, "--user", "dora", "--as", "fay", env=env)
    assert refused.returncode == 2 and "administrator" in refused.stderr
    # Locks are the security administrator's.
    assert tongxing("users", "lock", "dora", "--as", "anna", env=env).returncode == 2
    locked = tongxing("users", "lock", "dora", "--reason", "lost laptop", "--as", "bert", env=env)
    assert locked.returncode == 0 and locked.stdout.strip() == "locked"
    # The auditor reads; changes nothing.
    listing = json.loads(tongxing("users", "list", "--json", "--as", "cora", env=env).stdout)
    assert {u["username"]: u["disabled"] for u in listing}["dora"] is True
    bot = (
        "clients",
        "create",
        "--client-id",
        "cert-bot",
        "--grant-type",
        "client_credentials",
        "--scope",
        "seal:sign",
        "--owner",
        "91350100M000100Y43",
    )
    assert tongxing(*bot, "--as", "cora", env=env).returncode == 2
    created = tongxing(*bot, "--as", "anna", env=env)
    assert created.returncode == 0 and "shown once" in created.stderr
    clients = json.loads(tongxing("clients", "list", "--json", "--as", "cora", env=env).stdout)
    assert clients[0]["owner_organisation_id"] == org.stdout.strip()
    assert tongxing("clients", "disable", "cert-bot", "--as", "cora", env=env).returncode == 2
    assert tongxing("clients", "rotate-secret", "cert-bot", "--as", "anna", env=env).returncode == 0
    # 三权分立: the system administrator cannot take over the auditor's account.
    takeover = tongxing("users", "set-password", "cora", "--as", "anna", env=env, stdin=PW)
    assert takeover.returncode == 2 and "三权分立" in takeover.stderr
    audit = tongxing("audit", "verify", env=env)
    assert audit.returncode == 0, audit.stderr


def _ask_for_deletion(env: dict[str, str], login: str) -> None:
    """The person asks for their account's deletion (as on the account page: disabled)."""
    database = Database(f"sqlite:///{Path(env['TONGXING_DATA_DIR']) / 'tongxing.db'}")
    try:
        with database.transaction() as session:
            user = repository.user_by_login(session, login)
            assert user is not None
            user.deletion_requested_at, user.disabled = datetime.now(UTC), True
    finally:
        database.dispose()


def test_cancelling_a_pending_deletion(appointed: dict[str, str]) -> None:
    env = appointed
    made = tongxing(
        "users",
        "create",
        "--username",
        "gina",
        "--password-stdin",
        "--as",
        "anna",
        env=env,
        stdin=PW,
    )
    assert made.returncode == 0, made.stderr
    nothing = tongxing("users", "cancel-deletion", "gina", "--as", "anna", env=env)
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == "error: gina has not asked for their account's deletion"
    _ask_for_deletion(env, "gina")
    wrong_role = tongxing("users", "cancel-deletion", "gina", "--as", "bert", env=env)
    assert wrong_role.returncode == 2 and "system administrator" in wrong_role.stderr
    done = tongxing("users", "cancel-deletion", "gina", "--as", "anna", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deletion cancelled"
    listing = json.loads(tongxing("users", "list", "--json", "--as", "cora", env=env).stdout)
    gina = {u["username"]: u for u in listing}["gina"]
    assert gina["disabled"] is False and gina["deletion_requested_at"] is None
