"""Settings: defaults, production refusals, unknown variables, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Mode, SettingsError, load_settings
from tests.conftest import strong_secret


def test_demo_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"TONGXING_MODE": "demo", "TONGXING_DATA_DIR": str(tmp_path)})
    assert settings.mode is Mode.DEMO
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/tongxing.db"
    assert settings.redis_url == ""


def test_production_is_the_default_and_needs_a_key_encryption_key() -> None:
    with pytest.raises(SettingsError, match=r"^TONGXING_KEY_ENCRYPTION_KEY .*required"):
        load_settings({})


@pytest.mark.parametrize("value", ["changeme", "secret", "a" * 40, "short-but-random-7Hq"])
def test_production_refuses_placeholder_or_weak_keys(value: str) -> None:
    with pytest.raises(SettingsError, match="TONGXING_KEY_ENCRYPTION_KEY looks like a placeholder"):
        load_settings({"TONGXING_KEY_ENCRYPTION_KEY": value})


def test_weak_ops_token_refused_in_production() -> None:
    with pytest.raises(SettingsError, match="TONGXING_OPS_TOKEN"):
        load_settings({"TONGXING_KEY_ENCRYPTION_KEY": strong_secret(), "TONGXING_OPS_TOKEN": "x"})


def test_production_accepts_a_strong_key() -> None:
    key = strong_secret()
    settings = load_settings({"TONGXING_KEY_ENCRYPTION_KEY": key})
    assert settings.key_encryption_key_bytes() == key.encode()


def test_key_file_is_read_and_checked(tmp_path: Path) -> None:
    weak = tmp_path / "weak"
    weak.write_text("changeme\n")
    settings = load_settings({"TONGXING_KEY_ENCRYPTION_KEY_FILE": str(weak)})
    with pytest.raises(SettingsError, match="TONGXING_KEY_ENCRYPTION_KEY_FILE looks like"):
        settings.key_encryption_key_bytes()
    missing = load_settings({"TONGXING_KEY_ENCRYPTION_KEY_FILE": str(tmp_path / "nope")})
    with pytest.raises(SettingsError, match="cannot read"):
        missing.key_encryption_key_bytes()


def test_both_key_sources_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="both set"):
        load_settings(
            {
                "TONGXING_MODE": "demo",
                "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
                "TONGXING_KEY_ENCRYPTION_KEY_FILE": str(tmp_path / "k"),
            }
        )


def test_unknown_variable_is_named_with_a_suggestion() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TONGXING_MODE": "demo", "TONGXING_DATABSE_URL": "sqlite://"})
    assert str(caught.value) == (
        "unknown setting TONGXING_DATABSE_URL (did you mean TONGXING_DATABASE_URL?)"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TONGXING_MODE", "staging", "TONGXING_MODE: Input should be 'demo' or 'production'"),
        ("TONGXING_DATABASE_URL", "mysql://x", "TONGXING_DATABASE_URL: must be a sqlite"),
        ("TONGXING_REDIS_URL", "http://x", "TONGXING_REDIS_URL: must be a redis://"),
        ("TONGXING_ISSUER", "id.example", "TONGXING_ISSUER: must be an absolute http(s) URL"),
        ("TONGXING_MAX_REQUEST_BYTES", "12", "TONGXING_MAX_REQUEST_BYTES: Input should be"),
        ("TONGXING_STORE_PREFIX", "a:b", "TONGXING_STORE_PREFIX: String should match"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TONGXING_MODE": "demo", variable: value})
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TONGXING_DATABASE_URL", "mysql://u:hunter2@db/x"),
        ("TONGXING_REDIS_URL", "http://:hunter2@r"),
    ],
)
def test_passwords_in_urls_never_appear_in_errors(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TONGXING_MODE": "demo", variable: value})
    assert variable in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TONGXING_KEY_ENCRYPTION_KEY": "hunter2-is-my-password"})
    assert "hunter2" not in str(caught.value)
    settings = load_settings({"TONGXING_MODE": "demo", "TONGXING_OPS_TOKEN": "s3cr3t-token"})
    assert "s3cr3t" not in repr(settings)


def test_production_needs_https_issuer_except_on_loopback() -> None:
    key = {"TONGXING_KEY_ENCRYPTION_KEY": strong_secret()}
    with pytest.raises(SettingsError, match="TONGXING_ISSUER must use https"):
        load_settings({**key, "TONGXING_ISSUER": "http://id.example.gov.cn"})
    assert load_settings({**key, "TONGXING_ISSUER": "http://localhost:8000/"}).issuer == (
        "http://localhost:8000"
    )
    assert load_settings({**key, "TONGXING_ISSUER": "https://id.example.gov.cn"})


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    settings = load_settings(
        {"TONGXING_MODE": "demo", "TONGXING_DATABASE_URL": "postgresql://u@db/tongxing"}
    )
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/tongxing"


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXING_MODE", "demo")
    monkeypatch.setenv("TONGXING_LOG_LEVEL", "debug")
    assert load_settings().log_level == "debug"
