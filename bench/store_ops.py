"""Store throughput: set+take pairs per second on Redis, as a ratio of the in-process store.

Run: .venv/bin/python -m bench.store_ops [--seconds 2]
Redis at TX_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). Keys are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from core.store import Store, create_store


def pairs_per_second(store: Store, seconds: float) -> float:
    """set + take of one short-lived key (an authorization code's life), repeated."""
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(100):
            key = store.key("bench", "code", str(done))
            store.set(key, b"x" * 64, ttl=30)
            store.take(key)
            done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    prefix = f"txbench{uuid.uuid4().hex[:8]}"
    memory = create_store(redis_url="", prefix=prefix)
    redis_url = os.environ.get("TX_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = create_store(redis_url=redis_url, prefix=prefix)
    baseline = pairs_per_second(memory, args.seconds)
    shared = pairs_per_second(redis, args.seconds)
    print(f"in-process store: {baseline:12,.0f} set+take/s (baseline)")
    print(f"redis store:      {shared:12,.0f} set+take/s  ratio {shared / baseline:.3f}")
    redis.close()


if __name__ == "__main__":
    main()
