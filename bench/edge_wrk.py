"""Edge endpoints measured with wrk: Tongxing against oidc-provider and a bare FastAPI app.

Run: .venv/bin/python -m bench.edge_wrk [--seconds 10] [--connections 16]
                                        [--memory-requests 100000] [--only edge,memory,login]

Starts three servers side by side on loopback, each ONE process pinned to one core
(`taskset -c 0`; they take turns, an idle one costs nothing):

  ours   `tongxing serve`, one uvicorn worker, production mode on its embedded configuration
         (SQLite + in-process store), keys initialised, clients and a person registered
         (the set-up of `bench.oidc_vs_peer`), log level `info` (the production default)
  peer   Node's oidc-provider from `bench/oidc_peer/` (`npm ci` on first use)
  bare   `bench/bare_app.py`: FastAPI doing the same cryptographic work with no storage,
         no middleware, no logging: the Python ceiling

and drives each endpoint with `wrk` (Debian package `wrk`) pinned to the other core
(`taskset -c 1`, `-t1 -c16 --latency`; a warm-up run first, not counted), alternating the
servers per endpoint, Lua scripts in `bench/wrk/` for the POST body and the headers:

  token      POST /token client_credentials (client_secret_basic), ES256 JWT access token
  jwks       GET /jwks
  discovery  GET /.well-known/openid-configuration
  userinfo   GET userinfo with a bearer token (ours and the peer's from one whole login
             through `bench/oidc_driver.py`, the bare app's from its /token)
  healthz    GET /healthz (ours) against GET /ping (bare)

Beside each rate it reads the server's CPU time per request (user + system, all threads,
`/proc/PID/stat`) over the measured run: on a machine shared with other work the rate moves
with whatever else runs on the server's core, the CPU per request much less.

Then (`memory`) our worker's resident memory (VmRSS) before and after --memory-requests
more token requests, and (`login`) the issue's login target: whole authorization-code
logins per second (the Python driver, which wrk cannot replace, on core 1 against our
server on core 0) over argon2id verifications per second at our parameters
(`idp/passwords.py`) on core 0 alone. It prints one table and, with --json, the figures as
JSON. Every process it starts is stopped by its PID; it talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.oidc_driver import ADAPTERS, Target, basic_auth, discover, op_login
from bench.oidc_vs_peer import (
    PASSWORD,
    REDIRECT,
    ROOT,
    _free_port,
    _pinned,
    _stop,
    _wait,
    peer_server,
    tongxing_server,
)
from bench.wrk_runs import WrkResult, cpu_seconds, parse_wrk, rss_kib, wrk

TOKEN_BODY = "grant_type=client_credentials&scope=seal%3Asign"
ENDPOINTS = ("token", "jwks", "discovery", "userinfo", "healthz")
SERVERS = ("ours", "peer", "bare")
PARTS = ("edge", "memory", "login")


@dataclass
class Server:
    """One running server and what wrk needs to drive it."""

    name: str
    pid: int
    base: str
    paths: dict[str, str]  # endpoint -> path ("" when the server has no such endpoint)
    authorization: str  # client_secret_basic header of the machine client
    access_token: str = ""  # for userinfo
    secret: str = ""  # the machine and web clients' secret (ours)


def drive(server: Server, endpoint: str, *, seconds: float, connections: int, cpu: int) -> str:
    """wrk's output for ``endpoint`` of ``server``."""
    url = server.base + server.paths[endpoint]
    if endpoint == "token":
        return wrk(
            url,
            seconds=seconds,
            connections=connections,
            cpu=cpu,
            script="token.lua",
            script_args=(server.authorization, TOKEN_BODY),
        )
    if endpoint == "userinfo":
        return wrk(
            url,
            seconds=seconds,
            connections=connections,
            cpu=cpu,
            script="bearer.lua",
            script_args=(server.access_token,),
        )
    return wrk(url, seconds=seconds, connections=connections, cpu=cpu)


# ------------------------------------------------------------------ servers and their tokens
@contextmanager
def bare_server(*, cpu: int, secret: str) -> Iterator[tuple[str, int]]:
    """`bench/bare_app.py` under uvicorn, one process, pinned to ``cpu``."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BARE_ISSUER": base,
        "BARE_CLIENT_ID": "bench-machine",
        "BARE_CLIENT_SECRET": secret,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench.bare_app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        _pinned(command, cpu),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"{base}/ping", process)
        yield base, process.pid
    finally:
        _stop(process)


def _discovered_paths(base: str) -> dict[str, str]:
    meta = httpx.get(base + "/.well-known/openid-configuration", timeout=10).json()
    return {
        "token": meta["token_endpoint"].removeprefix(base),
        "jwks": meta["jwks_uri"].removeprefix(base),
        "discovery": "/.well-known/openid-configuration",
        "userinfo": meta["userinfo_endpoint"].removeprefix(base),
    }


def _login_token(base: str, *, name: str, secret: str) -> str:
    """An access token with scope openid from one whole login by the Python driver."""
    values = {**ADAPTERS["peer"], "base_url": base}
    if name == "tongxing":
        values.update(client_secret=secret, web_client_secret=secret, username="bench")
    target = Target(name=name, **values)  # type: ignore[arg-type]

    async def login() -> str:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            await discover(client, target)
        transport = httpx.AsyncHTTPTransport()
        try:
            return str((await op_login(transport, target))["access_token"])
        finally:
            await transport.aclose()

    return asyncio.run(login())


def _check(server: Server) -> None:
    """One token and one userinfo request each, so a set-up error fails loudly."""
    answer = httpx.post(
        server.base + server.paths["token"],
        content=TOKEN_BODY,
        headers={
            "authorization": server.authorization,
            "content-type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )
    if answer.status_code != 200:
        raise SystemExit(f"{server.name}: token HTTP {answer.status_code} {answer.text[:200]}")
    answer = httpx.get(
        server.base + server.paths["userinfo"],
        headers={"authorization": f"Bearer {server.access_token}"},
        timeout=10,
    )
    if answer.status_code != 200 or "sub" not in answer.json():
        raise SystemExit(f"{server.name}: userinfo HTTP {answer.status_code} {answer.text[:200]}")


def start_servers(stack: ExitStack, *, cpu: int) -> dict[str, Server]:
    """All three servers, pinned to ``cpu``, with their tokens."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tx-edge-")))
    ours_base, ours_pid, creds = stack.enter_context(
        tongxing_server(workdir, cpu=cpu, log_level="info")
    )
    peer_base, peer_pid = stack.enter_context(peer_server(same_hash=False, cpu=cpu))
    bare_base, bare_pid = stack.enter_context(bare_server(cpu=cpu, secret=creds["secret"]))
    peer_secret = str(ADAPTERS["peer"]["client_secret"])
    servers = {
        "ours": Server(
            "ours",
            ours_pid,
            ours_base,
            {**_discovered_paths(ours_base), "healthz": "/healthz"},
            basic_auth("bench-machine", creds["secret"]),
        ),
        "peer": Server(
            "peer",
            peer_pid,
            peer_base,
            {**_discovered_paths(peer_base), "healthz": ""},
            basic_auth("bench-machine", peer_secret),
        ),
        "bare": Server(
            "bare",
            bare_pid,
            bare_base,
            {**_discovered_paths(bare_base), "healthz": "/ping"},
            basic_auth("bench-machine", creds["secret"]),
        ),
    }
    servers["ours"].secret = creds["secret"]
    servers["ours"].access_token = _login_token(ours_base, name="tongxing", secret=creds["secret"])
    servers["peer"].access_token = _login_token(peer_base, name="peer", secret="")
    answer = httpx.post(
        bare_base + "/token",
        data={"grant_type": "client_credentials", "scope": "openid"},
        headers={"authorization": servers["bare"].authorization},
        timeout=10,
    )
    servers["bare"].access_token = answer.json()["access_token"]
    for server in servers.values():
        _check(server)
    return servers


# ------------------------------------------------------------------ the three parts
def measure_edge(
    servers: dict[str, Server], *, args: argparse.Namespace
) -> dict[str, dict[str, WrkResult]]:
    """Every endpoint on every server that has it, the servers alternating."""
    results: dict[str, dict[str, WrkResult]] = {}
    for endpoint in ENDPOINTS:
        results[endpoint] = {}
        for name in SERVERS:
            server = servers[name]
            if not server.paths[endpoint]:
                continue
            options = {"connections": args.connections, "cpu": args.load_cpu}
            if args.warmup > 0:
                drive(server, endpoint, seconds=args.warmup, **options)
            cpu_before = cpu_seconds(server.pid)
            result = parse_wrk(drive(server, endpoint, seconds=args.seconds, **options))
            # CPU per request does not depend on what else runs on the core, as the rate does
            # (up to cache and frequency effects): the steadier figure on a shared machine.
            result.cpu_us = (cpu_seconds(server.pid) - cpu_before) * 1e6 / max(result.requests, 1)
            results[endpoint][name] = result
            print(
                f"  {endpoint:9} {name:5} {result.per_s:9.0f}/s  p50 {result.p50_ms:7.2f} ms"
                f"  p99 {result.p99_ms:7.2f} ms  CPU {result.cpu_us:6.0f} µs/request"
                f"  failures {result.failures}",
                file=sys.stderr,
                flush=True,
            )
    return results


def measure_memory(server: Server, *, args: argparse.Namespace) -> dict[str, float]:
    """Our worker's VmRSS before and after ``--memory-requests`` token requests (wrk runs
    for whole seconds, so it runs until at least that many have been answered)."""
    # A short run first, so the figure before counts the caches a running server has.
    drive(server, "token", seconds=2, connections=args.connections, cpu=args.load_cpu)
    before = rss_kib(server.pid)
    started = time.monotonic()
    requests = failures = 0
    chunk = 5.0  # wrk runs for whole seconds: a first run gives the rate, then the rest
    while requests < args.memory_requests:
        result = parse_wrk(
            drive(server, "token", seconds=chunk, connections=args.connections, cpu=args.load_cpu)
        )
        requests += result.requests
        failures += result.failures
        remaining = args.memory_requests - requests
        chunk = max(1.0, min(120.0, remaining / max(result.per_s, 1.0)))
    elapsed = time.monotonic() - started
    after = rss_kib(server.pid)
    figures = {
        "requests": requests,
        "failures": failures,
        "seconds": round(elapsed, 1),
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "growth_percent": round(100 * (after - before) / before, 1),
    }
    print(f"  memory {figures}", file=sys.stderr, flush=True)
    return figures


ARGON2_PROBE = """
import sys, time
from idp.passwords import hash_password, verify_password
stored = hash_password("bench-password-123")
verify_password(stored, "bench-password-123")
count, started, cpu = 0, time.perf_counter(), time.process_time()
while time.perf_counter() - started < float(sys.argv[1]):
    assert verify_password(stored, "bench-password-123")[0]
    count += 1
print(count / (time.perf_counter() - started), count / (time.process_time() - cpu))
"""


def argon2_rate(*, seconds: float, cpu: int) -> tuple[float, float]:
    """argon2id verifications at our parameters, one process on ``cpu``: per second of wall
    time and per second of CPU time (the second does not depend on what else ran there)."""
    done = subprocess.run(
        _pinned([sys.executable, "-c", ARGON2_PROBE, str(seconds)], cpu),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu_time = (float(x) for x in done.stdout.split())
    return wall, cpu_time


def measure_login(server: Server, *, args: argparse.Namespace) -> dict[str, float]:
    """Whole logins/s against our server (pinned) over argon2id verifications/s there."""
    argon2_before = argon2_rate(seconds=args.login_seconds / 2, cpu=args.server_cpu)
    command = [
        sys.executable,
        str(Path(__file__).parent / "oidc_driver.py"),
        "tongxing",
        "--base-url",
        server.base,
        "--client-id",
        "bench-machine",
        "--client-secret",
        server.secret,
        "--web-client-id",
        "bench-web",
        "--web-client-secret",
        server.secret,
        "--redirect-uri",
        REDIRECT,
        "--username",
        "bench",
        "--password",
        PASSWORD,
        "--server-pid",
        str(server.pid),
        "--scenarios",
        "login",
        "--seconds",
        str(args.login_seconds),
        "--concurrency",
        str(args.login_concurrency),
        "--json",
    ]
    done = subprocess.run(
        _pinned(command, args.load_cpu), cwd=ROOT, capture_output=True, text=True, check=True
    )
    login = json.loads(done.stdout)["targets"]["tongxing"]["scenarios"]["login"]
    argon2_after = argon2_rate(seconds=args.login_seconds / 2, cpu=args.server_cpu)
    argon2 = (argon2_before[0] + argon2_after[0]) / 2
    argon2_cpu = (argon2_before[1] + argon2_after[1]) / 2
    # Per CPU-second: logins per second of our server's CPU time against verifications per
    # second of the probe's; on a shared machine this is the steadier figure.
    logins_cpu = login["per_s"] / login["server_cpu"] if login["server_cpu"] else 0.0
    figures = {
        "logins_per_s": login["per_s"],
        "login_p50_ms": login["p50_ms"],
        "login_p99_ms": login["p99_ms"],
        "login_errors": login["errors"],
        "server_cpu": login["server_cpu"],
        "argon2_per_s": round(argon2, 1),
        "ratio": round(login["per_s"] / argon2, 3) if argon2 else float("nan"),
        "logins_per_cpu_s": round(logins_cpu, 1),
        "argon2_per_cpu_s": round(argon2_cpu, 1),
        "cpu_ratio": round(logins_cpu / argon2_cpu, 3) if argon2_cpu else float("nan"),
    }
    print(f"  login {figures}", file=sys.stderr, flush=True)
    return figures


# ------------------------------------------------------------------ report
def _ratio(a: WrkResult | None, b: WrkResult | None) -> str:
    return f"{a.per_s / b.per_s:.2f}" if a and b and b.per_s else "—"


def _cpu_ratio(a: WrkResult | None, b: WrkResult | None) -> str:
    """``b``'s CPU per request over ``a``'s: above 1, ``a`` needs less CPU per request."""
    return f"{b.cpu_us / a.cpu_us:.2f}" if a and b and a.cpu_us else "—"


def _rate(result: WrkResult | None) -> str:
    if result is None:
        return "—"
    mark = f" ({result.failures} failed)" if result.failures else ""
    return f"{result.per_s:,.0f}{mark}"


def _latency(results: dict[str, WrkResult]) -> str:
    return " / ".join(
        f"{results[n].p50_ms:.2f}, {results[n].p99_ms:.2f}" if n in results else "—"
        for n in SERVERS
    )


def print_table(edge: dict[str, dict[str, WrkResult]]) -> None:
    """The edge table in Markdown, ready for bench/README.md."""
    labels = {
        "token": "`POST /token` client_credentials",
        "jwks": "`GET /jwks`",
        "discovery": "`GET /.well-known/openid-configuration`",
        "userinfo": "`GET /userinfo` (peer: `/me`)",
        "healthz": "`GET /healthz` (bare: `/ping`)",
    }
    print(
        "| endpoint | ours req/s | oidc-provider req/s | bare req/s | ours/oidc-provider "
        "| ours/bare | p50, p99 ms: ours / oidc-provider / bare "
        "| CPU µs/request: ours / oidc-provider / bare | by CPU: ours/oidc-provider, ours/bare |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for endpoint, results in edge.items():
        ours, peer, bare = (results.get(n) for n in SERVERS)
        cpu = " / ".join(f"{r.cpu_us:.0f}" if r else "—" for r in (ours, peer, bare))
        print(
            f"| {labels[endpoint]} | {_rate(ours)} | {_rate(peer)} | {_rate(bare)} "
            f"| {_ratio(ours, peer)} | {_ratio(ours, bare)} | {_latency(results)} "
            f"| {cpu} | {_cpu_ratio(ours, peer)}, {_cpu_ratio(ours, bare)} |"
        )


def _require_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: install the Debian package (apt-get install wrk)")
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is missing: install the Debian package util-linux")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: the servers on one, wrk on the other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--login-seconds", type=float, default=10.0)
    parser.add_argument("--login-concurrency", type=int, default=8)
    parser.add_argument("--server-cpu", type=int, default=0, help="core of the servers")
    parser.add_argument("--load-cpu", type=int, default=1, help="core of wrk and the driver")
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        type=lambda s: [x for x in s.split(",") if x],
        help="comma list of parts: edge, memory, login",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}")
    _require_tools()
    # A plain SIGTERM (e.g. from `timeout`) still stops the servers through the ExitStack.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    with ExitStack() as stack:
        servers = start_servers(stack, cpu=args.server_cpu)
        ours = servers["ours"]
        edge: dict[str, dict[str, WrkResult]] = {}
        if "edge" in args.only:
            edge = measure_edge(servers, args=args)
            report["edge"] = {e: {n: vars(r) for n, r in rs.items()} for e, rs in edge.items()}
        if "memory" in args.only and args.memory_requests > 0:
            report["memory"] = measure_memory(ours, args=args)
        if "login" in args.only:
            report["login"] = measure_login(ours, args=args)
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print()
    if edge:
        print_table(edge)
        print()
    memory = report.get("memory")
    if isinstance(memory, dict):
        print(
            f"memory: our worker's VmRSS {memory['rss_before_mib']} MiB before and "
            f"{memory['rss_after_mib']} MiB after {memory['requests']:,} token requests "
            f"({memory['growth_percent']:+.1f} %, {memory['failures']} failed, "
            f"{memory['seconds']} s)"
        )
    login = report.get("login")
    if isinstance(login, dict):
        print(
            f"logins: {login['logins_per_s']}/s whole code-flow logins (p50 "
            f"{login['login_p50_ms']} ms, server {login['server_cpu']} cores) against "
            f"{login['argon2_per_s']} argon2id verifications/s on the same core: "
            f"ratio {login['ratio']} (target ≥ 0.8); per CPU-second {login['logins_per_cpu_s']}"
            f" logins against {login['argon2_per_cpu_s']} verifications: "
            f"ratio {login['cpu_ratio']}"
        )
    print(f"load average before {report['loadavg_before']}, after {report['loadavg_after']}")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
