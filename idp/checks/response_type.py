"""Rule 4: the authorization code flow only (``response_type=code``); no implicit or hybrid
flows, whose tokens travel in URLs."""

from __future__ import annotations

from collections.abc import Mapping

from idp.errors import InvalidRequest, UnsupportedResponseType


def check(params: Mapping[str, str]) -> None:
    """Accept ``code`` (and ``response_mode=query``, the default) only."""
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequest("response_type is missing")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequest("only response_mode=query is supported")
