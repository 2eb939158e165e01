"""Choosing the page language: zh-CN first, English when asked by ``?lang=``, cookie or header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from starlette.requests import Request
from starlette.responses import Response

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
COOKIE = "tx_lang"
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no daylight saving
_BEIJING_ZONE = {"zh-CN": "北京时间（UTC+8）", "en": "Beijing time (UTC+8)"}


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


def beijing_time(moment: datetime | float, lang: str, *, seconds: bool = True) -> str:
    """A moment (an aware datetime or a Unix time) as people in China read it, with the zone
    said: ``2026-12-04 18:30:05 北京时间（UTC+8）`` / ``… Beijing time (UTC+8)``."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(BEIJING).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )
    return f"{shown} {_BEIJING_ZONE[lang]}"
