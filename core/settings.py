"""Typed service settings read from ``TONGXING_*`` environment variables and checked at start.

Security contract: outside demo mode, ``load_settings`` refuses missing or placeholder
secrets (key-encryption key, ops token) and names the variable to fix. It does *not* check
that the database or store are reachable; that is ``tongxing.preflight``'s job.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.hosts import is_loopback

ENV_PREFIX = "TONGXING_"

# Values people paste from examples; never accepted as a secret outside demo mode.
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "placeholder",
        "example",
        "demo",
        "test",
        "default",
        "xxx",
        "todo",
        "replace-me",
        "please-change",
    }
)
MIN_SECRET_CHARS = 32


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe; the message is one line naming the variable."""


class Mode(StrEnum):
    """Demo generates keys and seeds data; production refuses to guess anything."""

    DEMO = "demo"
    PRODUCTION = "production"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


class Settings(BaseSettings):
    """Every knob of the service: build with :func:`load_settings`, pass it down."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    mode: Mode = Mode.PRODUCTION
    data_dir: Path = Path("var")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in DATA_DIR")
    redis_url: str = Field(default="", description="redis:// URL; empty = in-process store")
    store_prefix: str = Field(default="tx", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    issuer: str = "http://127.0.0.1:8000"
    key_encryption_key: SecretStr | None = None
    key_encryption_key_file: Path | None = None
    ops_token: SecretStr | None = None
    pki_name: str = Field(default="Tongxing", min_length=1, max_length=64)
    key_algorithm: Literal["ES256", "RS256"] = "ES256"
    pkcs11_module: str = ""
    pkcs11_token_label: str = ""
    pkcs11_pin: SecretStr | None = None
    pkcs11_purposes: str = Field(
        default="", description="comma list of key purposes generated in the PKCS#11 token"
    )
    token_key_retention_hours: int = Field(default=24, ge=1)
    audit_checkpoint_seconds: int = Field(default=300, ge=5)
    access_token_ttl_seconds: int = Field(default=600, ge=30, le=86400)
    id_token_ttl_seconds: int = Field(default=600, ge=30, le=86400)
    authorization_code_ttl_seconds: int = Field(default=60, ge=10, le=600)
    cas_ticket_ttl_seconds: int = Field(
        default=10, ge=1, le=300, description="how long a CAS service ticket (ST-) lives"
    )
    sso_session_ttl_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    qr_login_ttl_seconds: int = Field(
        default=120, ge=1, le=600, description="how long a QR sign-in code (扫码登录) lives"
    )
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=60)
    login_attempts_per_account: int = Field(
        default=5, ge=1, description="failed sign-ins per account before back-off starts"
    )
    login_attempts_per_address: int = Field(
        default=50, ge=1, description="failed sign-ins per source address per 15 minutes"
    )
    sms_gateway: Literal["", "development", "http"] = Field(
        default="",
        description="how text messages go out: development (demo mode only; its default), "
        "http (a provider), or empty (no SMS methods)",
    )
    sms_http_url: str = Field(default="", description="the SMS provider's HTTP endpoint")
    sms_http_token: SecretStr | None = Field(default=None, description="its bearer token")
    sms_http_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    sms_sender_name: str = Field(
        default="通行", min_length=1, max_length=16, description="the signature on messages"
    )
    sms_code_ttl_seconds: int = Field(
        default=300, ge=1, le=900, description="how long a one-time SMS code is valid"
    )
    sms_send_interval_seconds: int = Field(
        default=60, ge=1, description="least time between two codes to one phone number"
    )
    sms_sends_per_phone_day: int = Field(default=10, ge=1, description="codes per number a day")
    sms_sends_per_address_hour: int = Field(
        default=20, ge=1, description="codes requested per source address an hour"
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-* headers are trusted"
    )
    max_request_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    seal_max_pdf_bytes: int = Field(
        default=15 * 1024 * 1024, ge=1024, description="largest PDF accepted for sealing"
    )
    seal_max_batch: int = Field(default=50, ge=1, le=1000, description="documents per batch")
    seal_font: str = Field(
        default="", description="CJK font file for generated seal images; empty = fontconfig"
    )
    seal_idempotency_hours: int = Field(default=24, ge=1, le=24 * 30)
    seal_verifications_per_minute: int = Field(
        default=60, ge=1, description="public verifications per source address per minute"
    )
    realname_verifier: Literal["", "none", "development", "http"] = Field(
        default="",
        description="who confirms a name and identity number (实名核验, level 2): http = the "
        "authority's service at REALNAME_URL; development = a seeded registry, demo mode only; "
        "none = nobody; empty = development in demo mode, none otherwise",
    )
    realname_url: str = Field(default="", description="the real-name service (http verifier)")
    realname_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the real-name service"
    )
    face_verifier: Literal["", "none", "development", "http"] = Field(
        default="",
        description="who checks that a real person is there (人脸核验, level 3): http = the "
        "face-check service at FACE_URL; development = liveness tokens we issue ourselves, "
        "demo mode only; none; empty = development in demo mode, none otherwise",
    )
    face_url: str = Field(default="", description="the face-check service (http verifier)")
    face_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the face-check service"
    )
    proofing_attempts_per_person: int = Field(
        default=5, ge=1, description="identity checks (real name, face) per person per day"
    )
    proofing_attempts_per_address: int = Field(
        default=30, ge=1, description="identity checks per source address per day"
    )
    sign_in_retention_days: int = Field(
        default=180,
        ge=1,
        description="days a person's sign-in history (time, method, address, device) is kept",
    )
    account_deletion_grace_days: int = Field(
        default=15,
        ge=0,
        description="days between a person asking for deletion and the purge of their data",
    )
    privacy_purge_seconds: int = Field(
        default=3600,
        ge=60,
        description="how often each app process purges expired history and deleted accounts",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"

    @field_validator("issuer")
    @classmethod
    def _issuer_is_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://id.example.gov.cn")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query or fragment")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql:"):
            value = "postgresql+psycopg:" + value.removeprefix("postgresql:")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_supported(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, or empty")
        return value

    @model_validator(mode="after")
    def _production_has_real_secrets(self) -> Settings:
        if self.key_encryption_key and self.key_encryption_key_file:
            raise SettingsError(
                f"{env_name('key_encryption_key')} and {env_name('key_encryption_key_file')} "
                "are both set; keep one"
            )
        if self.pkcs11_purposes and not (self.pkcs11_module and self.pkcs11_token_label):
            raise SettingsError(
                f"{env_name('pkcs11_purposes')} needs {env_name('pkcs11_module')} and "
                f"{env_name('pkcs11_token_label')}"
            )
        for kind in ("realname", "face"):
            chosen = getattr(self, f"{kind}_verifier")
            url = getattr(self, f"{kind}_url")
            if chosen == "http" and urlsplit(url).scheme not in ("http", "https"):
                raise SettingsError(
                    f"{env_name(kind + '_verifier')}=http needs {env_name(kind + '_url')}"
                )
            if chosen == "development" and self.mode is Mode.PRODUCTION:
                raise SettingsError(
                    f"{env_name(kind + '_verifier')}=development is for demo mode only: it "
                    "confirms whatever the demo seeded; use http (or none) in production"
                )
        if self.sms_gateway == "http":
            if not self.sms_http_url or self.sms_http_token is None:
                raise SettingsError(
                    f"{env_name('sms_gateway')}=http needs {env_name('sms_http_url')} and "
                    f"{env_name('sms_http_token')}"
                )
            url = urlsplit(self.sms_http_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise SettingsError(f"{env_name('sms_http_url')} must be an http(s) URL")
            if url.scheme != "https" and not is_loopback(url.hostname):
                raise SettingsError(f"{env_name('sms_http_url')} must use https")
        if self.mode is not Mode.PRODUCTION:
            return self
        if self.sms_gateway == "development":
            raise SettingsError(
                f"{env_name('sms_gateway')}=development is for demo mode only (it sends "
                "nothing); use http with a provider, or leave it empty for no SMS"
            )
        if self.key_encryption_key is None and self.key_encryption_key_file is None:
            raise SettingsError(
                f"{env_name('key_encryption_key')} (or {env_name('key_encryption_key_file')}) "
                "is required in production mode; generate one with `openssl rand -base64 32`"
            )
        if self.key_encryption_key is not None:
            _require_strong_secret("key_encryption_key", self.key_encryption_key)
        if self.ops_token is not None:
            _require_strong_secret("ops_token", self.ops_token)
        issuer = urlsplit(self.issuer)
        if issuer.scheme != "https" and not is_loopback(issuer.hostname or ""):
            raise SettingsError(
                f"{env_name('issuer')} must use https in production mode (got {self.issuer})"
            )
        return self

    def verifier(self, kind: Literal["realname", "face"]) -> str:
        """The identity-check implementation in use: none | development | http."""
        chosen = str(getattr(self, f"{kind}_verifier"))
        if chosen:
            return chosen
        return "development" if self.mode is Mode.DEMO else "none"

    @property
    def hsm_purposes(self) -> frozenset[str]:
        """Key purposes whose new keys are generated in the PKCS#11 token."""
        return frozenset(p.strip() for p in self.pkcs11_purposes.split(",") if p.strip())

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tongxing.db').resolve()}"

    def key_encryption_key_bytes(self) -> bytes:
        """The key-encryption key material (from the variable or the file it names)."""
        if self.key_encryption_key is not None:
            return self.key_encryption_key.get_secret_value().encode()
        if self.key_encryption_key_file is None:
            raise SettingsError(f"{env_name('key_encryption_key')} is not set")
        try:
            material = self.key_encryption_key_file.read_bytes().strip()
        except OSError as exc:
            raise SettingsError(
                f"{env_name('key_encryption_key_file')}: cannot read "
                f"{self.key_encryption_key_file} ({exc.strerror})"
            ) from None
        if self.mode is Mode.PRODUCTION:
            _require_strong_secret("key_encryption_key_file", SecretStr(material.decode("latin-1")))
        return material


def _require_strong_secret(field: str, secret: SecretStr) -> None:
    value = secret.get_secret_value().strip()
    if value.lower() in _PLACEHOLDERS or len(set(value)) < 8 or len(value) < MIN_SECRET_CHARS:
        raise SettingsError(
            f"{env_name(field)} looks like a placeholder or is too weak (need at least "
            f"{MIN_SECRET_CHARS} random characters, e.g. `openssl rand -base64 32`)"
        )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``environ`` (default: the process environment) plus overrides.

    Unknown ``TONGXING_*`` variables are an error, so a typo cannot silently fall back to a
    default. Every failure is a :class:`SettingsError` with a one-line message.
    """
    env = dict(os.environ if environ is None else environ)
    known = {env_name(name) for name in Settings.model_fields}
    for key in sorted(env):
        if key.startswith(ENV_PREFIX) and key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise SettingsError(f"unknown setting {key}{suggestion}")
    values: dict[str, Any] = {
        name: env[env_name(name)] for name in Settings.model_fields if env_name(name) in env
    }
    values.update(overrides)
    try:
        # Values are passed explicitly so the given environ, not os.environ, is what counts.
        return _SettingsFromValues(**values)
    except SettingsError:
        raise
    except ValidationError as exc:
        raise SettingsError(_first_error(exc)) from None


class _SettingsFromValues(Settings):
    """Settings that read only their constructor arguments (the environment was read above)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[no-untyped-def]
        return (init_settings,)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(error.get("ctx", {}).get("error"), SettingsError):
        return message
    # URLs may carry passwords; secrets are never echoed.
    secret = field in (
        "key_encryption_key",
        "ops_token",
        "pkcs11_pin",
        "database_url",
        "redis_url",
        "realname_token",
        "face_token",
        "sms_http_token",
    )
    got = "" if secret or error["type"] == "missing" else f" (got {error.get('input')!r})"
    return f"{env_name(field)}: {message}{got}" if field else f"{message}{got}"
