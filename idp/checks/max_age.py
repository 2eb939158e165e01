"""Rule 8: ``max_age`` is a non-negative number of seconds (OIDC Core §3.1.2.1); the
sign-in is then forced when the last authentication is older than that."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import InvalidRequest


def check(params: Mapping[str, str]) -> int | None:
    """The maximum authentication age, if given."""
    value = params.get("max_age")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(value)


def login_needed(*, max_age: int | None, auth_time: int, now: int) -> bool:
    """Whether an authentication at ``auth_time`` is too old for ``max_age``."""
    return max_age is not None and now - auth_time > max_age
