"""Choosing the page language: zh-CN first, English when asked by ``?lang=``, cookie or header."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
COOKIE = "tx_lang"


def _normalise(tag: str) -> str | None:
    tag = tag.strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def pick_language(request: Request) -> str:
    """``?lang=`` wins, then the ``tx_lang`` cookie, then ``Accept-Language`` by q-value."""
    for explicit in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if explicit and (chosen := _normalise(explicit)):
            return chosen
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if (chosen := _normalise(tag)) and quality > 0:
            weighted.append((-quality, position, chosen))
    return sorted(weighted)[0][2] if weighted else DEFAULT_LANGUAGE


def remember_choice(request: Request, response: Response) -> None:
    """An explicit ``?lang=`` switch sticks (cookie) for the pages the person opens next."""
    if request.query_params.get("lang"):
        response.set_cookie(COOKIE, pick_language(request), max_age=365 * 86400, samesite="lax")
