"""The composition root is the one way to services: only it puts objects on ``app.state``,
only ``core/api/deps.py`` reads them, and routers take each package's ``api/deps`` aliases."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from core.runtime import Runtime
from idp.runtime import IdentityProvider
from keys.runtime import KeyServices
from seal.runtime import SealingService

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "keys", "audit", "idp", "seal", "admin", "tongxing")
# The writer (the composition root) and the one reader every package's deps go through.
ALLOWED = {Path("tongxing/app.py"), Path("core/api/deps.py")}


def app_state_uses(source: str) -> list[int]:
    """Lines of ``source`` that touch ``<something>.app.state``, ``app.state`` or
    ``getattr(<app>, "state")``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "state":
            owner = node.value
            if (isinstance(owner, ast.Attribute) and owner.attr == "app") or (
                isinstance(owner, ast.Name) and owner.id == "app"
            ):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "state"
        ):
            lines.append(node.lineno)
    return lines


def _modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        directory = ROOT / package
        if directory.is_dir():
            found += [
                p.relative_to(ROOT)
                for p in directory.rglob("*.py")
                if "migrations" not in p.parts  # Alembic scripts, not the app
            ]
    return sorted(found)


def test_only_the_composition_root_and_core_deps_touch_app_state() -> None:
    offenders = {
        str(path): lines
        for path in _modules()
        if path not in ALLOWED and (lines := app_state_uses((ROOT / path).read_text()))
    }
    assert offenders == {}, (
        "reach services through the package's api/deps.py aliases (they read the Runtime "
        f"through core.api.deps.runtime_of), not app.state: {offenders}"
    )


def test_every_api_package_has_one_deps_module() -> None:
    for package in PACKAGES:
        api = ROOT / package / "api"
        if api.is_dir():
            assert (api / "deps.py").is_file(), f"{package}/api has no deps.py"


@pytest.mark.parametrize(
    "source",
    [
        "def f(request):\n    return request.app.state.idp\n",
        "def f(request):\n    request.app.state.idp = 1\n",
        "def f(app):\n    return app.state.services\n",
        "def f(request):\n    return getattr(request.app, 'state')\n",
    ],
)
def test_the_check_sees_app_state(source: str) -> None:
    assert app_state_uses(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "def f(request):\n    return runtime_of(request.app).get(X)\n",
        "def f(request, idp):\n    return idp.sessions.state\n",  # a domain object's state
        "def f(target):\n    return target.state\n",
    ],
)
def test_the_check_ignores_other_state(source: str) -> None:
    assert app_state_uses(source) == []


def test_the_app_carries_one_runtime_with_every_service(client: TestClient) -> None:
    runtime = runtime_of(client.app)
    assert isinstance(runtime, Runtime)
    idp = runtime.get(IdentityProvider)
    assert runtime.get(SealingService).keys is runtime.get(KeyServices)
    assert idp.custody is runtime.get(KeyServices).custody
    # What FastAPI hands a handler is the very object the root registered.
    assert client.get("/.well-known/openid-configuration").json()["issuer"] == idp.issuer
