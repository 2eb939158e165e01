"""The runtime: one instance per class, found by exactly that class, missing ones loud."""

from __future__ import annotations

import pytest

from core.runtime import Runtime


class Clock:
    pass


class SlowClock(Clock):
    pass


def test_a_service_is_found_by_its_class() -> None:
    clock = Clock()
    assert Runtime(clock).get(Clock) is clock


def test_a_missing_service_is_an_error_not_none() -> None:
    with pytest.raises(LookupError, match="Clock"):
        Runtime().get(Clock)


def test_a_subclass_is_not_found_by_its_base() -> None:
    # Exact classes only: a lookup never silently picks some other registered subclass.
    with pytest.raises(LookupError):
        Runtime(SlowClock()).get(Clock)


def test_a_class_is_registered_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        Runtime(Clock(), Clock())
