"""Page language choice: zh-CN first; English by parameter, cookie or Accept-Language."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from core.i18n import pick_language


def _request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "query_string": query.encode(), "headers": raw})


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("", {}, "zh-CN"),
        ("", {"accept-language": "en-US,en;q=0.9"}, "en"),
        ("", {"accept-language": "fr, en;q=0.5, zh;q=0.8"}, "zh-CN"),
        ("", {"accept-language": "zh-TW;q=0, en;q=0.1"}, "en"),
        ("lang=en", {"accept-language": "zh-CN"}, "en"),
        ("lang=xx", {"accept-language": "en"}, "en"),
        ("", {"cookie": "tx_lang=en"}, "en"),
        ("", {"accept-language": "en;q=bogus, zh"}, "zh-CN"),
    ],
)
def test_pick_language(query: str, headers: dict[str, str], expected: str) -> None:
    assert pick_language(_request(query, headers)) == expected


def test_home_page_in_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    zh = client.get("/")
    assert zh.headers["content-language"] == "zh-CN"
    assert "一次认证，全程通行" in zh.text
    en = client.get("/", headers={"accept-language": "en"})
    assert "Authenticate once, pass everywhere" in en.text
