"""The production topology in docker-compose.yml: structure, settings names, load balancer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[1]
KNOWN_SETTINGS = {env_name(field) for field in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image", "").startswith("tongxing") and "command" not in service
    }


def test_topology_has_two_replicas_a_balancer_and_shared_state(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"lb", "postgres", "redis", "migrate"} <= set(services)
    assert len(_app_services(compose)) >= 2
    assert services["lb"]["image"].startswith("nginx")
    assert services["postgres"]["image"].startswith("postgres")
    assert services["redis"]["image"].startswith("redis")


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name != "migrate":
            assert "healthcheck" in service, name


def test_app_settings_are_real_and_production_grade(compose: dict[str, Any]) -> None:
    for name, service in _app_services(compose).items():
        environment: dict[str, str] = service["environment"]
        tongxing_vars = {key for key in environment if key.startswith("TONGXING_")}
        assert tongxing_vars <= KNOWN_SETTINGS, tongxing_vars - KNOWN_SETTINGS
        assert environment["TONGXING_MODE"] == "production"
        assert environment["TONGXING_ISSUER"].startswith("https://")
        assert re.match(
            r"postgresql(\+psycopg)?://[^@]+@postgres:5432/", environment["TONGXING_DATABASE_URL"]
        )
        assert environment["TONGXING_REDIS_URL"].startswith("redis://redis:6379")
        kek = environment["TONGXING_KEY_ENCRYPTION_KEY_FILE"]
        assert kek.removeprefix("/run/secrets/") in service["secrets"], name
        assert "TONGXING_KEY_ENCRYPTION_KEY" not in environment  # never inline
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_migrations_run_once_before_the_apps(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["sh", "-c", "tongxing db upgrade && tongxing keys init"]
    assert migrate["environment"] == next(iter(_app_services(compose).values()))["environment"]


def test_balancer_routes_to_every_replica_and_hides_ops(compose: dict[str, Any]) -> None:
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = re.search(r"upstream tongxing \{(.*?)\}", nginx, re.S)
    assert upstream
    servers = set(re.findall(r"server (\S+):8000", upstream.group(1)))
    assert servers == {s.get("hostname", n) for n, s in _app_services(compose).items()}
    assert "location /metrics { deny all; }" in nginx
    assert "location /ops/ { deny all; }" in nginx
    lb_depends = compose["services"]["lb"]["depends_on"]
    assert set(lb_depends) == set(_app_services(compose))
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["lb"]["volumes"]


def test_secrets_are_files_never_committed(compose: dict[str, Any]) -> None:
    ignored = (ROOT / ".gitignore").read_text()
    assert "deploy/secrets/*" in ignored
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./deploy/secrets/")
