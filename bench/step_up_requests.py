"""Our server's CPU per request of the bench's two logins, through uvicorn, one at a time.

    .venv/bin/python -m bench.step_up_requests [--logins 80]

The server is :mod:`bench.step_up`'s (``tongxing serve``, production mode, pinned to core
0); the driver (this process) runs the same two kinds of login one request at a time and
reads the server's CPU time from ``/proc/<pid>/task/*/schedstat`` (nanoseconds, every
thread) just before each request and 5 ms after its answer (so what runs after the answer
counts too). Prints the mean and median CPU milliseconds per request kind. Set beside
:mod:`bench.step_up_profile` (the same logins in process), it shows what the HTTP server
adds per request; not a throughput figure (no concurrency): :mod:`bench.step_up` is.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.oidc_driver import Target, discover, op_login
from bench.step_up import LEVEL_3, Codes, server


def server_cpu_ns(pid: int) -> int:
    """CPU nanoseconds used so far by every thread of process ``pid``."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:  # the thread ended meanwhile
            continue
    return total


class Timed(httpx.AsyncBaseTransport):
    """An HTTP transport noting the server's CPU time per request under its kind."""

    def __init__(self, inner: httpx.AsyncBaseTransport, pid: int) -> None:
        self.inner, self.pid, self.kind = inner, pid, ""
        self.cpu: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.005)  # what the previous answer left running has finished
        start = server_cpu_ns(self.pid)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await asyncio.sleep(0.005)
        name = f"{request.method} {urlsplit(str(request.url)).path}"
        self.cpu[self.kind][name].append((server_cpu_ns(self.pid) - start) / 1e6)
        return response


async def drive(target: Target, *, logins: int, warmup: int, people: int) -> Timed:
    assert target.server_pid is not None
    timed = Timed(httpx.AsyncHTTPTransport(), target.server_pid)
    async with httpx.AsyncClient(trust_env=False) as client:
        await discover(client, target)
    codes = Codes(people, 2)
    for i in range(logins + warmup):
        if i == warmup:
            timed.cpu.clear()
        timed.kind = "password"
        await op_login(timed, dataclasses.replace(target, username=f"bench{i % people}"))
        timed.kind = "password+totp"
        person, code = codes.take()
        await op_login(
            timed,
            dataclasses.replace(target, username=f"bench{person}"),
            extra={"acr_values": LEVEL_3},
            otp=code,
        )
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=80, help="of each kind")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--people", type=int, default=50)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    with (
        tempfile.TemporaryDirectory(prefix="tx-step-up-requests-") as workdir,
        server(Path(workdir), cpu=0, people=args.people, authenticators=2) as target,
    ):
        timed = asyncio.run(
            drive(target, logins=args.logins, warmup=args.warmup, people=args.people)
        )
    totals = {}
    for kind, requests in timed.cpu.items():
        print(f"{kind}: {args.logins} logins")
        total = 0.0
        for name, values in requests.items():
            total += sum(values) / args.logins
            print(
                f"  {name:<28} mean {statistics.mean(values):7.2f} ms, "
                f"median {statistics.median(values):7.2f} ms"
            )
        totals[kind] = total
        print(f"  total {total:.1f} ms of server CPU per login")
    if len(totals) == 2:
        extra = totals["password+totp"] - totals["password"]
        print(f"second factor: +{extra:.1f} ms, share {extra / totals['password']:.1%}")


if __name__ == "__main__":
    main()
