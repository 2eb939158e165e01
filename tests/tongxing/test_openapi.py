"""The OpenAPI document describes the API: schemathesis against the app in both storage
configurations, and an architecture test for the document's integer bounds."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python import asgi

from core.settings import Settings
from tests.admin import world as admin_world
from tests.conftest import strong_secret
from tests.oidc import domain_of
from tests.seal.world import make_world
from tongxing import create_app

pytestmark = pytest.mark.slow

# The DER protocol requests are bytes on the wire, like application/octet-stream.
schemathesis.serializer.alias(
    ["application/ocsp-request", "application/timestamp-query"], "application/octet-stream"
)

CONFIG = tomllib.loads(Path(__file__).with_name("schemathesis.toml").read_text())


def _failures(schema: Any) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        interaction = event.recorder.interactions.get(case_id)
                        status = (
                            interaction.response.status_code
                            if interaction and interaction.response
                            else None
                        )
                        line = f"{event.recorder.label} [{check.name}] {status}: {check.failure_info.failure.title}"
                        if line not in seen:
                            seen.add(line)
                            found.append(f"{line}\n    {check.failure_info.code_sample[:300]}")
        elif isinstance(event, events.NonFatalError):
            # The app raised (a 500): the ASGI transport re-raises what the app logged.
            line = f"{event.label} [not_a_server_error] 500: {event.value!r}"[:300]
            if line not in seen:
                seen.add(line)
                found.append(line)
        elif isinstance(event, events.FatalError):
            found.append(f"fatal: {event.exception!r}")
    return found


def test_the_api_is_as_described(make_settings: Callable[..., Settings]) -> None:
    ops_token = strong_secret()
    app = create_app(make_settings(ops_token=ops_token))
    try:
        # Loading the document starts the app's lifespan (which opens the key custody).
        schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig())
        client = TestClient(app)
        world = make_world(client)
        bearer = {
            "/seal/v1/sign": world.token(),
            "/seal/v1/batch": world.token(),
            "/audit/v1/entries": world.token(scope="audit:read", audience="/audit"),
            "/metrics": ops_token,
            "/ops/v1/instances": ops_token,
        }
        config = SchemathesisConfig.from_dict(
            {
                **CONFIG,
                "operations": [
                    *CONFIG.get("operations", []),
                    *(
                        {"include-path": path, "headers": {"Authorization": f"Bearer {token}"}}
                        for path, token in bearer.items()
                    ),
                    *(
                        {
                            "include-path-regex": regex,
                            "headers": {"Authorization": f"Bearer {token}"},
                        }
                        for regex, token in _admin_tokens(client).items()
                    ),
                ],
            }
        )
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        failures = _failures(schema)
    finally:
        asgi.shutdown_lifespans()
    assert not failures, "\n".join(failures)


def _admin_tokens(client: TestClient) -> dict[str, str]:
    """A real token of the role each admin path is for (the first matching pattern wins, so
    the most specific come first); the role holders sign in through the code flow."""
    admin_world.build(domain_of(client))
    admin_world.add_console(domain_of(client))
    system, security, audit = (
        admin_world.person_token(client, login, scope=f"openid {scope}")
        for login, scope in (
            (admin_world.SYSTEM, "admin:system"),
            (admin_world.SECURITY, "admin:security"),
            (admin_world.AUDIT, "admin:audit"),
        )
    )
    return {
        "^/admin/v1/audit/": audit,
        "^/admin/v1/keys": security,
        "^/admin/v1/": system,
    }


def _integer_schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if schema.get("type") == "integer":
        yield schema
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _integer_schemas(option)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def test_every_integer_parameter_and_form_field_is_bounded(
    make_settings: Callable[..., Settings],
) -> None:
    """An unbounded integer reaches SQL and overflows its column (a 500, not a 422)."""
    document = create_app(make_settings(init_keys_now=False)).openapi()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            fields = [
                (f"{parameter['in']} {parameter['name']}", parameter.get("schema", {}))
                for parameter in operation.get("parameters", [])
            ]
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                body = _resolve(document, content.get("schema", {}))
                fields += [
                    (f"{media_type} {name}", _resolve(document, field))
                    for name, field in body.get("properties", {}).items()
                ]
            for name, schema in fields:
                for integer in _integer_schemas(schema):
                    if "minimum" not in integer or "maximum" not in integer:
                        unbounded.append(f"{method.upper()} {path}: {name}")
    assert not unbounded, unbounded


def test_integers_beyond_their_column_are_refused(client: TestClient) -> None:
    for query in ("after=2147483648", "after=9223372036854775808"):
        answer = client.get(f"/audit/v1/checkpoints?{query}")
        assert answer.status_code == 422, (query, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"
    for query in ("start=9223372036854775808", "end=9223372036854775808"):
        assert client.get(f"/audit/v1/entries?{query}").status_code in (401, 422)
    for query in ("index=9223372036854775808", "index=0&tree_size=9223372036854775808"):
        assert client.get(f"/audit/v1/proof/inclusion?{query}").status_code == 422
