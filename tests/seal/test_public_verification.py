"""The budget of anonymous verifications: per source address (IPv6: per /64) and minute."""

from __future__ import annotations

import pytest

from core.store import Store
from seal.errors import TooManyVerifications
from seal.public_verification import budget_holder, spend_budget

NOW = 60.0 * 31_666_667  # the start of a minute


def test_past_the_limit_a_verification_is_refused_until_the_next_minute(store: Store) -> None:
    for _ in range(2):
        spend_budget(store, address="192.0.2.1", limit=2, now=NOW)
    with pytest.raises(TooManyVerifications) as refused:
        spend_budget(store, address="192.0.2.1", limit=2, now=NOW + 59)
    assert refused.value.problem().status == 429
    assert refused.value.problem().headers["Retry-After"] == "60"
    spend_budget(store, address="192.0.2.2", limit=2, now=NOW)  # another address
    spend_budget(store, address="192.0.2.1", limit=2, now=NOW + 60)  # the next minute


def test_one_ipv6_64_shares_one_budget(store: Store) -> None:
    spend_budget(store, address="2001:db8::1", limit=1, now=NOW)
    with pytest.raises(TooManyVerifications):
        spend_budget(store, address="2001:db8::ffff:2", limit=1, now=NOW)
    spend_budget(store, address="2001:db8:0:1::1", limit=1, now=NOW)  # another /64


@pytest.mark.parametrize(
    ("address", "holder"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8::7", "2001:db8::/64"),
        ("unknown", "unknown"),
        ("not:an:address", "not:an:address"),
    ],
)
def test_who_a_budget_is_counted_for(address: str, holder: str) -> None:
    assert budget_holder(address) == holder
