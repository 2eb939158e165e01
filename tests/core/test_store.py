"""The store contract, on the in-process and the Redis implementation alike."""

from __future__ import annotations

import threading
import time

import pytest

from core.store import Store


def test_set_get_and_expiry(store: Store) -> None:
    key = store.key("test", "item", "a")
    assert store.get(key) is None
    assert store.set(key, b"value", ttl=1.0)
    assert store.get(key) == b"value"
    remaining = store.ttl(key)
    assert remaining is not None
    assert 0 < remaining <= 1.0
    time.sleep(1.1)
    assert store.get(key) is None
    assert store.ttl(key) is None


def test_only_if_absent_is_set_nx(store: Store) -> None:
    key = store.key("test", "nx", "a")
    assert store.set(key, b"first", ttl=10, only_if_absent=True)
    assert not store.set(key, b"second", ttl=10, only_if_absent=True)
    assert store.get(key) == b"first"


def test_take_is_single_use_under_concurrency(store: Store) -> None:
    key = store.key("test", "code", "c1")
    store.set(key, b"code", ttl=10)
    winners: list[bytes] = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        value = store.take(key)
        if value is not None:
            winners.append(value)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners == [b"code"]
    assert store.get(key) is None


def test_counter_counts_atomically_in_a_fixed_window(store: Store) -> None:
    key = store.key("test", "counter", "ip")
    threads = [
        threading.Thread(target=lambda: [store.incr(key, ttl=5) for _ in range(25)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.incr(key, ttl=5, amount=0) == 100
    window = store.key("test", "counter", "window")
    opened = time.monotonic()
    store.incr(window, ttl=1.0)
    time.sleep(0.5)
    store.incr(window, ttl=1.0)  # does not extend the window
    if time.monotonic() - opened > 0.9:
        pytest.skip("the machine was too slow to count twice inside the window")
    time.sleep(0.6)
    assert store.incr(window, ttl=1.0) == 1


def test_compare_and_set(store: Store) -> None:
    key = store.key("test", "cas", "a")
    assert store.compare_and_set(key, expected=None, value=b"v1", ttl=10)
    assert not store.compare_and_set(key, expected=None, value=b"v2", ttl=10)
    assert not store.compare_and_set(key, expected=b"wrong", value=b"v2", ttl=10)
    assert store.compare_and_set(key, expected=b"v1", value=b"v2", ttl=10)
    assert store.get(key) == b"v2"


def test_delete(store: Store) -> None:
    key = store.key("test", "del", "a")
    store.set(key, b"x", ttl=10)
    assert store.delete(key)
    assert not store.delete(key)


def test_keys_must_be_namespaced_and_expire(store: Store) -> None:
    assert store.key("idp", "code", "abc") == f"{store.prefix}:idp:code:abc"
    with pytest.raises(ValueError, match="not namespaced"):
        store.get("bare-key")
    with pytest.raises(ValueError, match="not namespaced"):
        store.get("other:idp:code:abc")
    with pytest.raises(ValueError, match="TTL must be positive"):
        store.set(store.key("test", "ttl", "a"), b"x", ttl=0)
    with pytest.raises(ValueError, match="must match"):
        store.key("idp:x", "code", "a")
    with pytest.raises(ValueError, match="non-empty"):
        store.key("idp", "code", "")


def test_values_are_bytes_exactly(store: Store) -> None:
    key = store.key("test", "bytes", "a")
    payload = bytes(range(256))
    store.set(key, payload, ttl=10)
    assert store.get(key) == payload
    assert store.take(key) == payload


def test_ping(store: Store) -> None:
    store.ping()
