"""User-Agent headers in a few words for the sign-in history."""

from __future__ import annotations

import pytest

from idp.user_agents import summarise

CASES = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Chrome 131 · Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
        "Edge 131 · Windows",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari 17 · iOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20240404 "
        "MMWEBID/1234 MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/WIFI",
        "WeChat 8 · Android",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Firefox 127 · macOS",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "Headless Chrome 131 · Linux",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/99.0.4844.88 Mobile Safari/537.36",
        "Chrome 99 · HarmonyOS",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 13; zh-CN; V2241A) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Version/4.0 Chrome/101.0.4951.61 Mobile Safari/537.36 AlipayClient/10.5.86.8000",
        "Alipay 10 · Android",
    ),
    ("curl/8.5.0", "curl 8"),
    ("testclient", "?"),
    ("", "?"),
]


@pytest.mark.parametrize(("header", "words"), CASES)
def test_summaries(header: str, words: str) -> None:
    assert summarise(header).words("?") == words
