"""Where a login's server CPU goes, request by request: the bench's two kinds of login
(:mod:`bench.step_up`) run one at a time against the app in this process.

    .venv/bin/python -m bench.step_up_profile [--logins 200]

The app is built exactly as ``tongxing serve`` builds it (production mode, embedded
configuration, the bench's people) and driven through ``httpx.ASGITransport`` by the bench's
own ``op_login``, one login at a time, so the process's CPU time between a request's start
and its end is that request's (plus the in-process driver's small share, alike for every
request). Prints the mean CPU milliseconds per request kind (method + path) for each kind
of login. For where inside a request the time goes, sample this under py-spy (every thread:
the app's handlers run in the thread pool), e.g. ``py-spy record --format raw -o stacks.txt
-- .venv/bin/python -m bench.step_up_profile``.

Not a throughput figure (no concurrency, no HTTP server, no sockets): use it to see *which*
request and *which* call costs, and :mod:`bench.step_up` for the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.oidc_driver import Target, _jwt_payload, discover, op_login
from bench.step_up import LEVEL_3, Codes, _seed_people, installation, target_at


class Timed(httpx.AsyncBaseTransport):
    """An ASGI transport noting each request's process CPU time under its kind."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.kind = ""
        self.cpu: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.process_time()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        name = f"{request.method} {urlsplit(str(request.url)).path}"
        self.cpu[self.kind][name].append(1000 * (time.process_time() - start))
        return response


PROFILES: list[cProfile.Profile] = []


def _profile_threads() -> None:
    """cProfile this thread and every thread started from now on (the thread pool's)."""

    def start(*_: object) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)  # CPU, not waiting on the disk
        PROFILES.append(profile)
        profile.enable()

    threading.setprofile(start)
    start()


async def _drive(args: argparse.Namespace, app: object, target: Target) -> Timed:
    transport = Timed(httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
        await discover(client, target)
    codes = Codes(args.people, args.authenticators)
    for i in range(args.logins + args.warmup):
        if i == args.warmup:
            transport.cpu.clear()
        person = i % args.people
        transport.kind = "password"
        await op_login(transport, dataclasses.replace(target, username=f"bench{person}"))
        transport.kind = "password+totp"
        person, code = codes.take()
        tokens = await op_login(
            transport,
            dataclasses.replace(target, username=f"bench{person}"),
            extra={"acr_values": LEVEL_3},
            otp=code,
        )
        assert _jwt_payload(tokens["id_token"]).get("acr") == LEVEL_3
    return transport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=200, help="of each kind")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--authenticators", type=int, default=2)
    parser.add_argument("--cprofile", help="write a cProfile of every thread here (pstats)")
    args = parser.parse_args()
    base = "http://127.0.0.1:8999"
    with tempfile.TemporaryDirectory(prefix="tx-step-up-profile-") as workdir:
        env, secret = installation(Path(workdir), base, log_level="warning")
        _seed_people(env, people=args.people, authenticators=args.authenticators)
        os.environ.update({k: v for k, v in env.items() if k.startswith("TONGXING_")})
        from core.settings import load_settings
        from tongxing.app import create_app

        app = create_app(load_settings())
        target = target_at(base, secret)

        async def run() -> Timed:
            if args.cprofile:  # before the pool's first thread starts (start-up included)
                _profile_threads()
            async with app.router.lifespan_context(app):
                return await _drive(args, app, target)

        timed = asyncio.run(run())
    if args.cprofile:
        for profile in PROFILES:
            profile.disable()
        stats = pstats.Stats(*PROFILES)
        stats.dump_stats(args.cprofile)
    totals = {}
    for kind, requests in timed.cpu.items():
        print(f"{kind}: {args.logins} logins", file=sys.stdout)
        total = 0.0
        for name, values in requests.items():
            per_login = sum(values) / args.logins
            total += per_login
            print(
                f"  {name:<28} {len(values) / args.logins:>4.1f} per login, "
                f"mean {statistics.mean(values):7.2f} ms, median {statistics.median(values):7.2f}"
                f" ms, {per_login:7.2f} ms per login"
            )
        totals[kind] = total
        print(f"  total {total:.1f} ms CPU per login")
    if len(totals) == 2:
        extra = totals["password+totp"] - totals["password"]
        print(f"second factor: +{extra:.1f} ms, share {extra / totals['password']:.1%}")


if __name__ == "__main__":
    main()
