"""Device cookie entries (``idp.device_cookies``): bound to the account and the key, several
accounts per browser, hostile values recognised as nothing."""

from __future__ import annotations

import os

import pytest

from idp import device_cookies

KEY = os.urandom(32)


def test_an_entry_is_recognised_only_for_its_account_and_key() -> None:
    cookie = device_cookies.issue(key=KEY, account="user:a", presented=None)
    device = device_cookies.recognise(key=KEY, account="user:a", presented=cookie)
    assert device is not None and cookie.startswith(device + ".")
    assert device_cookies.recognise(key=KEY, account="user:b", presented=cookie) is None
    other_key = os.urandom(32)
    assert device_cookies.recognise(key=other_key, account="user:a", presented=cookie) is None


def test_a_browser_keeps_the_last_few_accounts_and_renews_its_own() -> None:
    cookie = None
    for n in range(device_cookies.MAX_ENTRIES + 1):
        cookie = device_cookies.issue(key=KEY, account=f"user:{n}", presented=cookie)
    known = [
        n
        for n in range(device_cookies.MAX_ENTRIES + 1)
        if device_cookies.recognise(key=KEY, account=f"user:{n}", presented=cookie)
    ]
    assert known == list(range(1, device_cookies.MAX_ENTRIES + 1))  # the oldest dropped
    before = device_cookies.recognise(key=KEY, account="user:3", presented=cookie)
    renewed = device_cookies.issue(key=KEY, account="user:3", presented=cookie)
    after = device_cookies.recognise(key=KEY, account="user:3", presented=renewed)
    assert after is not None and after != before
    assert len(renewed.split("~")) == device_cookies.MAX_ENTRIES  # replaced, not added


@pytest.mark.parametrize(
    "presented", ["", "~", "a.b", "x" * 5000, f"{'x' * 22}.{'y' * 22}", "é" * 45, None]
)
def test_hostile_cookies_are_recognised_as_nothing(presented: str | None) -> None:
    assert device_cookies.recognise(key=KEY, account="user:a", presented=presented) is None
    assert device_cookies.issue(key=KEY, account="user:a", presented=presented)
