"""A ``User-Agent`` header in a few words (browser and operating system) for the person's
sign-in history; a summary to recognise one's own devices, never a security decision (the
header is whatever the client sends)."""

from __future__ import annotations

import re
from dataclasses import dataclass


def _compiled(*named: tuple[str, str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(pattern)) for name, pattern in named)


# First match wins: browsers built on Chromium name Chrome too, so they come before it.
_BROWSERS = _compiled(
    ("WeChat", r"MicroMessenger/(\d+)"),
    ("Alipay", r"AlipayClient/(\d+)"),
    ("QQ Browser", r"QQBrowser/(\d+)"),
    ("UC Browser", r"UCBrowser/(\d+)"),
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"OPR/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Headless Chrome", r"HeadlessChrome/(\d+)"),
    ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[\d.]* (?:Mobile/\S+ )?Safari/"),
    ("curl", r"^curl/(\d+)"),
    ("Python", r"python-(?:httpx|requests)/(\d+)"),
)
_SYSTEMS = _compiled(
    ("HarmonyOS", r"HarmonyOS|OpenHarmony"),
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Windows", r"Windows"),
    ("ChromeOS", r"CrOS"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("Linux", r"Linux|X11"),
)


@dataclass(frozen=True)
class Device:
    """What the header says about the device: browser (with major version) and system;
    empty when not recognised."""

    browser: str
    system: str

    def words(self, unknown: str) -> str:
        """``Chrome 131 · Windows``; ``unknown`` when nothing was recognised."""
        return " · ".join(part for part in (self.browser, self.system) if part) or unknown


def summarise(user_agent: str) -> Device:
    """The browser and operating system a ``User-Agent`` header names."""
    browser = ""
    for name, pattern in _BROWSERS:
        if found := pattern.search(user_agent):
            browser = f"{name} {found.group(1)}"
            break
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    return Device(browser=browser, system=system)
