"""Rule 7: ``prompt`` values are known and ``none`` stands alone (OIDC Core §3.1.2.1)."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import InvalidRequest

VALUES = frozenset({"none", "login", "consent", "select_account"})


def check(params: Mapping[str, str]) -> frozenset[str]:
    """The set of prompt values."""
    values = frozenset(v for v in params.get("prompt", "").split(" ") if v)
    if not values <= VALUES:
        raise InvalidRequest("prompt has an unknown value")
    if "none" in values and len(values) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return values
