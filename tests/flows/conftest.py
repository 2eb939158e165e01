"""Fixtures of the browser tests: Chromium profiles and a demo of their own per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser import OpenChromium, open_chromium, running_demo
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
def demo(tmp_path: Path) -> Iterator[Server]:
    """The demo, fresh for the test (its people, apps and seals as the README tour has them)."""
    with running_demo(tmp_path) as server:
        yield server
