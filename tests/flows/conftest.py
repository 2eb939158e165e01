"""Fixtures of the end-to-end tests: Chromium profiles and a demo of their own per test, and
production settings on shared storage for several real app processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests import backends
from tests.browser import OpenChromium, open_chromium, running_demo
from tests.conftest import require_backend, strong_secret
from tests.in_process import tongxing
from tests.processes import Server


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[OpenChromium]:
    """Opens Chromium profiles by name (``chromium("phone", lang="en")``), each with its own
    cookies; every one is quit afterwards."""
    opened: list[webdriver.Chrome] = []

    def open_profile(name: str = "browser", lang: str = "zh-CN") -> webdriver.Chrome:
        instance = open_chromium(tmp_path / name, lang=lang)
        opened.append(instance)
        return instance

    try:
        yield open_profile
    finally:
        for instance in opened:
            instance.quit()


@pytest.fixture
def browser(chromium: OpenChromium) -> webdriver.Chrome:
    """One Chromium in zh-CN."""
    return chromium()


@pytest.fixture
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The demo, fresh for the test (its people, apps and seals as the README tour has them);
    in a module marked ``one_demo``, one demo for all its tests (each starts in browser
    profiles of its own and changes nothing another reads)."""
    if request.node.get_closest_marker("one_demo"):
        yield request.getfixturevalue("module_demo")
        return
    with running_demo(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def module_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One demo for a module marked ``one_demo`` (a demo's first start costs seconds)."""
    with running_demo(tmp_path_factory.mktemp("demo")) as server:
        yield server


@pytest.fixture
def shared_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Production settings on a fresh, migrated PostgreSQL database and a Redis namespace."""
    require_backend("postgresql")
    require_backend("redis")
    prefix = f"txt2p{uuid.uuid4().hex[:10]}"
    with backends.scratch_postgres_database() as url:
        env = {
            "TONGXING_MODE": "production",
            "TONGXING_DATA_DIR": str(tmp_path),
            "TONGXING_DATABASE_URL": url,
            "TONGXING_REDIS_URL": backends.REDIS_URL,
            "TONGXING_STORE_PREFIX": prefix,
            "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
            "TONGXING_OPS_TOKEN": strong_secret(),
        }
        assert tongxing("db", "upgrade", env=env).returncode == 0
        assert tongxing("keys", "init", env=env).returncode == 0
        try:
            yield env
        finally:
            backends.delete_keys(prefix)
