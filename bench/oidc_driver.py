"""Load driver for OpenID providers: Tongxing ("tongxing") and the oidc-provider peer ("peer").

One client process, asyncio + httpx.AsyncClient, `--concurrency` requests in flight.
For each scenario it runs a short warm-up, then measures for `--seconds`:

  cc        client_credentials token requests (client_secret_basic)
  login     full authorization-code logins: authorize (PKCE S256, state, nonce) -> login
            form -> POST credentials (+ hidden fields, consent `decision=allow` if asked) ->
            redirects until the redirect_uri carries `code` (not followed) -> POST /token
            -> id_token. Fresh cookie jar per login; latency is for the whole login.
  userinfo  GET userinfo with one access token obtained by a login.

Only successful operations count towards req/s and latency; failures are counted and the
first few are printed. `driver_cpu` is the driver's CPU time / wall time: near 1.0 means
the driver itself (one Python core) was the bottleneck, so the figure is a lower bound.
`server` (with --server-pid / --peer-pid: that process and its children) and `machine`
(all processes) are cores kept busy likewise: machine well above driver + server means
something else was using the CPUs during the run, so rerun on a quiet machine.

`compare` measures Tongxing and the peer in one run, alternating per scenario, and prints
the ratios tongxing/peer (throughput, p50, p99).

Examples:
  python driver.py peer                       # node/server.mjs on 127.0.0.1:3000
  python driver.py tongxing --base-url http://127.0.0.1:8000 \\
      --client-id M --client-secret S --web-client-id W --web-client-secret S2 \\
      --redirect-uri http://127.0.0.1:9/cb --username U --password P --json
  python driver.py compare --base-url http://127.0.0.1:8000 --peer-url http://127.0.0.1:3000 \\
      --client-id M ... --password P          # same flags as tongxing
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import httpx


# --------------------------------------------------------------------------- targets
@dataclass
class Target:
    """Everything the driver needs to know about one provider."""

    name: str
    base_url: str
    client_id: str
    client_secret: str
    web_client_id: str
    web_client_secret: str
    redirect_uri: str
    username: str
    password: str
    cc_scope: str = "seal:sign"
    cc_resource: str | None = None
    login_scope: str = "openid profile"
    server_pid: int | None = None  # to report the server's CPU use (with its children)
    # filled from discovery
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""


# Defaults per adapter; any of them can be overridden on the command line.
ADAPTERS: dict[str, dict[str, str | None]] = {
    # node/server.mjs (panva oidc-provider)
    "peer": {
        "base_url": "http://127.0.0.1:3000",
        "client_id": "bench-machine",
        "client_secret": "bench-machine-secret",
        "web_client_id": "bench-web",
        "web_client_secret": "bench-web-secret",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "username": "bench",
        "password": "bench-password-123",
    },
    # Tongxing: clients and account are provisioned by whoever runs the benchmark,
    # so they come from the command line.
    "tongxing": {
        "base_url": "http://127.0.0.1:8000",
        "client_id": None,
        "client_secret": None,
        "web_client_id": None,
        "web_client_secret": None,
        "redirect_uri": "http://127.0.0.1:9/cb",
        "username": None,
        "password": None,
    },
}


async def discover(client: httpx.AsyncClient, target: Target) -> None:
    url = target.base_url.rstrip("/") + "/.well-known/openid-configuration"
    r = await client.get(url)
    r.raise_for_status()
    meta = r.json()
    target.authorization_endpoint = meta["authorization_endpoint"]
    target.token_endpoint = meta["token_endpoint"]
    target.userinfo_endpoint = meta["userinfo_endpoint"]


# --------------------------------------------------------------------------- HTML forms
@dataclass
class Form:
    action: str | None
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, value)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # submit (name, value)

    def names(self) -> set[str]:
        return {n for _, n, _ in self.fields}


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action"), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is None or "name" not in a:
            return
        elif tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            if kind in ("submit", "image"):
                self._form.buttons.append((a["name"], a.get("value", "")))
            elif kind in ("checkbox", "radio") and "checked" not in a:
                return
            else:
                self._form.fields.append((kind, a["name"], a.get("value", "")))
        elif tag in ("select", "textarea"):
            self._form.fields.append((tag, a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def fill_form(form: Form, target: Target, otp: str | None = None) -> list[tuple[str, str]] | None:
    """Form fields to submit, or None if this form is not one we know how to answer
    (a one-time-code form only when ``otp`` is given)."""
    names = form.names()
    has_login = "password" in names
    has_decision = any(n == "decision" for n, _ in form.buttons) or "decision" in names
    has_otp = otp is not None and "code" in names
    if not (has_login or has_decision or has_otp):
        return None
    data: list[tuple[str, str]] = []
    for _, name, value in form.fields:
        if name in ("login", "username"):
            value = target.username
        elif name == "password":
            value = target.password
        elif name == "decision":
            value = "allow"
        elif name == "code" and otp is not None:
            value = otp
        data.append((name, value))
    if any(n == "decision" for n, _ in form.buttons):
        data.append(("decision", "allow"))
    return data


# --------------------------------------------------------------------------- operations
class OpError(Exception):
    pass


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.lru_cache(maxsize=8)
def basic_auth(client_id: str, secret: str) -> str:
    """client_secret_basic header (RFC 6749 2.3.1: form-encode both parts, then Base64)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def _jwt_payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def op_client_credentials(client: httpx.AsyncClient, target: Target) -> None:
    data = {"grant_type": "client_credentials", "scope": target.cc_scope}
    if target.cc_resource:
        data["resource"] = target.cc_resource
    r = await client.post(
        target.token_endpoint,
        data=data,
        headers={"authorization": basic_auth(target.client_id, target.client_secret)},
    )
    if r.status_code != 200 or "access_token" not in r.text:
        raise OpError(f"cc: HTTP {r.status_code} {r.text[:200]}")


async def op_login(
    transport: httpx.AsyncBaseTransport,
    target: Target,
    *,
    extra: dict[str, str] | None = None,
    otp: str | None = None,
) -> dict:
    """One complete authorization-code login with its own cookie jar; returns the token
    response. ``extra`` adds authorization parameters (e.g. ``acr_values``); ``otp`` answers
    a one-time-code form (a step-up page)."""
    verifier = _b64url(secrets.token_bytes(32))
    challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": target.web_client_id,
            "redirect_uri": target.redirect_uri,
            "scope": target.login_scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **(extra or {}),
        }
    )
    sep = "&" if "?" in target.authorization_endpoint else "?"
    # A fresh client = a fresh cookie jar; the transport (connection pool) is shared.
    client = httpx.AsyncClient(transport=transport, trust_env=False, timeout=30.0)
    url = f"{target.authorization_endpoint}{sep}{query}"
    r = await client.get(url)
    code = None
    for _ in range(20):
        if r.is_redirect:
            url = urljoin(str(r.url), r.headers["location"])
            if url.startswith(target.redirect_uri):
                params = parse_qs(urlsplit(url).query)
                if "error" in params:
                    raise OpError(f"login: authorization error {params}")
                if params.get("state") != [state]:
                    raise OpError("login: state mismatch")
                code = params["code"][0]
                break
            r = await client.get(url)
            continue
        if r.status_code != 200:
            raise OpError(f"login: HTTP {r.status_code} at {r.url}: {r.text[:200]}")
        parser = FormParser()
        parser.feed(r.text)
        for form in parser.forms:
            data = fill_form(form, target, otp)
            if data is not None:
                break
        else:
            raise OpError(f"login: no login or consent form at {r.url}: {r.text[:200]}")
        url = urljoin(str(r.url), form.action or str(r.url))
        if form.method == "post":
            r = await client.post(
                url,
                content=urlencode(data),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        else:
            r = await client.get(url, params=data)
    if code is None:
        raise OpError("login: too many steps before reaching the redirect_uri")
    r = await client.post(
        target.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": target.redirect_uri,
            "code_verifier": verifier,
        },
        headers={"authorization": basic_auth(target.web_client_id, target.web_client_secret)},
    )
    if r.status_code != 200:
        raise OpError(f"login: token HTTP {r.status_code} {r.text[:200]}")
    tokens = r.json()
    if "id_token" not in tokens:
        raise OpError(f"login: no id_token in {sorted(tokens)}")
    if _jwt_payload(tokens["id_token"]).get("nonce") != nonce:
        raise OpError("login: nonce mismatch in id_token")
    return tokens


async def op_userinfo(client: httpx.AsyncClient, target: Target, access_token: str) -> None:
    r = await client.get(
        target.userinfo_endpoint, headers={"authorization": f"Bearer {access_token}"}
    )
    if r.status_code != 200 or "sub" not in r.json():
        raise OpError(f"userinfo: HTTP {r.status_code} {r.text[:200]}")


# --------------------------------------------------------------------------- measurement
def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, Linux only."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return sum(v) - idle, sum(v)


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds used so far by process `pid` and all its descendants (Linux only),
    e.g. a uvicorn/gunicorn master and its workers."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, int]] = {}  # pid -> (ppid, utime + stime)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    if pid not in stats:
        return None
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += stats[p][1]
        todo.extend(c for c, (ppid, _) in stats.items() if ppid == p)
    return total / tick


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def run_load(
    op, seconds: float, warmup: float, concurrency: int, server_pid: int | None = None
) -> dict:
    """Run `op()` from `concurrency` workers: warm-up, then measure for `seconds`."""

    async def worker(until: float, latencies: list[float] | None, errors: list[str]) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= until:
                return
            try:
                await op()
            except (OpError, httpx.HTTPError, KeyError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if latencies is not None:
                latencies.append(time.perf_counter() - t0)

    if warmup > 0:
        until = time.perf_counter() + warmup
        await asyncio.gather(*(worker(until, None, []) for _ in range(concurrency)))
    latencies: list[float] = []
    errors: list[str] = []
    ticks0, server0 = cpu_ticks(), tree_cpu_seconds(server_pid)
    cpu0, t0 = time.process_time(), time.perf_counter()
    until = t0 + seconds
    await asyncio.gather(*(worker(until, latencies, errors) for _ in range(concurrency)))
    wall = time.perf_counter() - t0  # includes draining the requests in flight at the end
    cpu = time.process_time() - cpu0
    ticks1, server1 = cpu_ticks(), tree_cpu_seconds(server_pid)
    server_cpu = (
        round((server1 - server0) / wall, 2)
        if server0 is not None and server1 is not None
        else None
    )
    machine_busy = None  # cores busy machine-wide (driver + server + anything else)
    if ticks0 and ticks1 and ticks1[1] > ticks0[1]:
        ncpu = os.cpu_count() or 1
        machine_busy = round(ncpu * (ticks1[0] - ticks0[0]) / (ticks1[1] - ticks0[1]), 2)
    latencies.sort()
    return {
        "ops": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(wall, 3),
        "per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "driver_cpu": round(cpu / wall, 2),
        "server_cpu": server_cpu,
        "machine_busy": machine_busy,
    }


SCENARIOS = ("cc", "login", "userinfo")


class Runner:
    """Connection pool + scenario callables for one target."""

    def __init__(self, target: Target, concurrency: int) -> None:
        self.target = target
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.transport = httpx.AsyncHTTPTransport(limits=limits)
        self.client = httpx.AsyncClient(transport=self.transport, trust_env=False, timeout=30.0)
        self.access_token = ""

    async def setup(self) -> None:
        """Discovery, then one of each operation so a misconfiguration fails loudly
        instead of as 100% errors."""
        t = self.target
        await discover(self.client, t)
        await op_client_credentials(self.client, t)
        self.access_token = (await op_login(self.transport, t))["access_token"]
        await op_userinfo(self.client, t, self.access_token)

    def op(self, scenario: str):
        t = self.target
        return {
            "cc": lambda: op_client_credentials(self.client, t),
            "login": lambda: op_login(self.transport, t),
            "userinfo": lambda: op_userinfo(self.client, t, self.access_token),
        }[scenario]

    async def close(self) -> None:
        await self.client.aclose()


def report_line(name: str, scenario: str, res: dict, out) -> None:
    print(
        f"{name:9} {scenario:9} {res['per_s']:9.1f}/s  p50 {res['p50_ms']:8.2f} ms"
        f"  p99 {res['p99_ms']:8.2f} ms  ok {res['ops']:6}  err {res['errors']:4}"
        f"  cores: driver {res['driver_cpu']:.2f} server {res['server_cpu']}"
        f" machine {res['machine_busy']}",
        file=out,
        flush=True,
    )
    for e in res["first_errors"]:
        print(f"    error: {e}", file=out)


async def bench(targets: list[Target], args: argparse.Namespace) -> dict:
    """Measure every scenario on every target; targets alternate within each scenario so
    background load on the machine hits them alike."""
    out = sys.stderr if args.json else sys.stdout  # with --json, JSON alone on stdout
    runners = [Runner(t, args.concurrency) for t in targets]
    results: dict = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "targets": {
            r.target.name: {"base_url": r.target.base_url, "scenarios": {}} for r in runners
        },
    }
    try:
        for r in runners:
            await r.setup()
        for scenario in args.scenarios:
            for r in runners:
                if scenario == "userinfo":  # a fresh token: stores may have evicted the first
                    r.access_token = (await op_login(r.transport, r.target))["access_token"]
                res = await run_load(
                    r.op(scenario), args.seconds, args.warmup, args.concurrency, r.target.server_pid
                )
                results["targets"][r.target.name]["scenarios"][scenario] = res
                report_line(r.target.name, scenario, res, out)
    finally:
        for r in runners:
            await r.close()
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if len(runners) == 2:
        ours, peer = (results["targets"][n]["scenarios"] for n in ("tongxing", "peer"))
        results["ratio_tongxing_over_peer"] = ratios = {}
        for scenario in args.scenarios:
            a, b = ours[scenario], peer[scenario]
            ratios[scenario] = {
                "per_s": round(a["per_s"] / b["per_s"], 3) if b["per_s"] else None,
                "p50": round(a["p50_ms"] / b["p50_ms"], 3) if b["p50_ms"] else None,
                "p99": round(a["p99_ms"] / b["p99_ms"], 3) if b["p99_ms"] else None,
            }
            print(
                f"ratio tongxing/peer  {scenario:9} throughput {ratios[scenario]['per_s']}"
                f"  p50 {ratios[scenario]['p50']}  p99 {ratios[scenario]['p99']}",
                file=out,
            )
    return results


def make_target(name: str, args: argparse.Namespace, overrides: dict[str, str | None]) -> Target:
    values = dict(ADAPTERS[name])
    for key, given in overrides.items():
        if given is not None:
            values[key] = given
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise SystemExit(
            f"adapter {name!r} needs: " + ", ".join("--" + k.replace("_", "-") for k in missing)
        )
    return Target(
        name=name,
        cc_scope=args.cc_scope,
        cc_resource=args.cc_resource,
        login_scope=args.login_scope,
        **values,
    )  # type: ignore[arg-type]


def parse_args(argv: list[str] | None = None) -> tuple[list[Target], argparse.Namespace]:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "adapter",
        choices=["peer", "tongxing", "compare"],
        help="compare = tongxing and peer in one run, alternating, with ratios",
    )
    g = p.add_argument_group("target (for compare: Tongxing's; the peer uses its defaults)")
    g.add_argument("--base-url", help="where discovery lives (issuer)")
    g.add_argument("--client-id", help="client_credentials client")
    g.add_argument("--client-secret")
    g.add_argument("--web-client-id", help="authorization-code client")
    g.add_argument("--web-client-secret")
    g.add_argument("--redirect-uri")
    g.add_argument("--username")
    g.add_argument("--password")
    g.add_argument("--server-pid", type=int, help="report this process tree's CPU use")
    p.add_argument(
        "--peer-url", default=ADAPTERS["peer"]["base_url"], help="peer base URL for compare"
    )
    p.add_argument("--peer-pid", type=int, help="peer's pid for compare (CPU use)")
    p.add_argument("--cc-scope", default="seal:sign")
    p.add_argument("--cc-resource", help="send this `resource` with client_credentials")
    p.add_argument("--login-scope", default="openid profile")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        type=lambda s: [x for x in s.split(",") if x],
        help="comma list",
    )
    p.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    args = p.parse_args(argv)
    for s in args.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r}")
    overrides = {k: getattr(args, k) for k in ADAPTERS["peer"]}
    if args.adapter == "compare":
        targets = [
            make_target("tongxing", args, overrides),
            make_target("peer", args, {"base_url": args.peer_url}),
        ]
        targets[0].server_pid, targets[1].server_pid = args.server_pid, args.peer_pid
    else:
        targets = [make_target(args.adapter, args, overrides)]
        targets[0].server_pid = args.server_pid
    return targets, args


def main(argv: list[str] | None = None) -> int:
    targets, args = parse_args(argv)
    results = asyncio.run(bench(targets, args))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
