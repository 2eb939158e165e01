"""Whole code-flow logins per second with password + TOTP against password alone, same run.

    .venv/bin/python -m bench.step_up [--seconds 10] [--rounds 3] [--people 200]

Our server (`tongxing serve`, one uvicorn worker, production mode on the embedded
configuration, log level `info`) runs pinned to core 0 (`taskset`); the Python driver
(`bench/oidc_driver.py`, 8 logins in flight, a fresh cookie jar per login) on core 1. The
two kinds of login alternate in rounds of ``--seconds`` each, so both meet the same load:

- password: authorize → sign-in form → POST credentials → code → token;
- password + TOTP: the same request with ``acr_values=urn:tongxing:loa:3`` → sign-in form
  → POST credentials → the factor page → POST a TOTP code → code → token (ID token acr
  level 3 checked).

A TOTP code is accepted once per authenticator and 30-second step, so ``--people`` people
(proofed at level 4, one shared argon2id password hash) get ``--authenticators`` TOTP
authenticators each, and the driver hands out each (authenticator, step) once, for the
current step or the next. The rounds alternate the order (password first, then TOTP first,
…): use an even ``--rounds``. The second factor's cost is measured two ways: logins per wall
second (the ratio TOTP / password) and our server's CPU seconds per login (from /proc),
which other sessions' load on a shared machine disturbs less; the target is a second factor
costing under 10 % of the login.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.oidc_driver import (
    ADAPTERS,
    OpError,
    Target,
    _jwt_payload,
    discover,
    op_login,
    run_load,
)
from bench.oidc_vs_peer import PASSWORD, REDIRECT, _free_port, _pinned, _stop, _tongxing, _wait

LEVEL_3 = "urn:tongxing:loa:3"


def _secret(person: int, authenticator: int) -> bytes:
    import hashlib

    return hashlib.sha1(f"bench-totp:{person}:{authenticator}".encode()).digest()


def _seed_people(env: dict[str, str], *, people: int, authenticators: int) -> None:
    """The bench people, in the server's database before it starts (one argon2id hash for
    all: verifying it costs the same whoever signs in)."""
    from core.database import Database
    from core.settings import load_settings
    from idp import accounts, passwords, totp
    from tongxing import preflight
    from tongxing.composition import build_domain

    settings = preflight.prepare_settings(load_settings(env))
    database = Database(settings.resolved_database_url)
    domain = build_domain(settings=settings, database=database)
    try:
        assert domain.keys.custody.open(create=False)
        digest = passwords.hash_password(PASSWORD)
        with database.transaction() as session:
            for person in range(people):
                user = accounts.create_user(
                    session,
                    data_keys=domain.data_keys,
                    events=domain.audit,
                    username=f"bench{person}",
                    display_name=f"Bench {person}",
                    actor="bench",
                    proofing_level=4,
                )
                user.password_hash = digest
                for authenticator in range(authenticators):
                    totp.add(
                        session,
                        data_keys=domain.data_keys,
                        user_id=user.id,
                        secret=_secret(person, authenticator),
                        name=f"t{authenticator}",
                    )
    finally:
        domain.close()
        database.dispose()


def installation(workdir: Path, base: str, *, log_level: str) -> tuple[dict[str, str], str]:
    """A production installation in ``workdir`` served at ``base`` (migrated, keys made) with
    the first-party web client ``bench-web``: its environment and the client's secret."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TONGXING_")},
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(workdir),
        "TONGXING_ISSUER": base,
        "TONGXING_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "TONGXING_OPS_TOKEN": secrets.token_urlsafe(32),
        "TONGXING_LOG_LEVEL": log_level,
        # Hundreds of sign-ins a minute from one address, 8 at once.
        "TONGXING_LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
        "TONGXING_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000",
    }
    secret = secrets.token_urlsafe(24)
    _tongxing(env, "db", "upgrade")
    _tongxing(env, "keys", "init")
    _tongxing(
        env, "clients", "create", "--client-id", "bench-web",
        "--grant-type", "authorization_code", "--scope", "openid profile",
        "--redirect-uri", REDIRECT, "--first-party", "--client-secret-stdin",
        stdin=secret,
    )  # fmt: skip
    return env, secret


def target_at(base: str, secret: str) -> Target:
    """The driver's target: our server at ``base``, its web client ``bench-web`` (``secret``)
    and the first bench person."""
    values = {**ADAPTERS["tongxing"], "base_url": base}
    values.update(
        client_id="bench-web",
        client_secret=secret,
        web_client_id="bench-web",
        web_client_secret=secret,
        username="bench0",
        password=PASSWORD,
    )
    return Target(name="tongxing", **values)  # type: ignore[arg-type]


@contextmanager
def server(workdir: Path, *, cpu: int, people: int, authenticators: int) -> Iterator[Target]:
    """Our server, one worker, pinned to ``cpu``, with a first-party web client and the
    bench people; the driver's target."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env, secret = installation(workdir, base, log_level="info")
    _seed_people(env, people=people, authenticators=authenticators)
    command = [sys.executable, "-m", "tongxing", "serve", "--host", "127.0.0.1", "--port"]
    process = subprocess.Popen(
        _pinned([*command, str(port)], cpu),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"{base}/readyz", process, timeout=300)  # slow on a loaded machine
        target = target_at(base, secret)
        target.server_pid = process.pid
        yield target
    finally:
        _stop(process)


class Codes:
    """Hands out each (person, authenticator, step) once: the current step or the next."""

    def __init__(self, people: int, authenticators: int) -> None:
        self.pairs = [(p, a) for a in range(authenticators) for p in range(people)]
        self.last: list[int | None] = [None] * len(self.pairs)
        self.next = 0

    def take(self) -> tuple[int, str]:
        from idp import totp

        current = totp.step_of(time.time())
        for _ in range(len(self.pairs)):
            i, self.next = self.next, (self.next + 1) % len(self.pairs)
            last = self.last[i]
            step = current if last is None or last < current else last + 1
            if step <= current + 1:
                self.last[i] = step
                person, authenticator = self.pairs[i]
                return person, totp.code_at(_secret(person, authenticator), step)
        raise OpError("every TOTP code of this step and the next is spent: add --people")


async def measure(args: argparse.Namespace, target: Target) -> dict[str, list[dict]]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    transport = httpx.AsyncHTTPTransport(limits=limits)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        await discover(client, target)
    codes = Codes(args.people, args.authenticators)
    turn = iter(range(10**9))

    async def password() -> None:
        person = next(turn) % args.people
        await op_login(transport, dataclasses.replace(target, username=f"bench{person}"))

    async def with_totp() -> None:
        person, code = codes.take()
        tokens = await op_login(
            transport,
            dataclasses.replace(target, username=f"bench{person}"),
            extra={"acr_values": LEVEL_3},
            otp=code,
        )
        claims = _jwt_payload(tokens["id_token"])
        if claims.get("acr") != LEVEL_3 or "otp" not in claims.get("amr", []):
            raise OpError(f"step-up: acr {claims.get('acr')} amr {claims.get('amr')}")

    await password()  # one of each: a misconfiguration fails loudly
    await with_totp()
    results: dict[str, list[dict]] = {"password": [], "password+totp": []}
    kinds = (("password", password), ("password+totp", with_totp))
    for round_ in range(args.rounds):
        # ABBA: the order alternates, so a cost that drifts during the run (a database and an
        # audit log growing, caches warming) falls on both kinds alike.
        for name, op in kinds if round_ % 2 == 0 else kinds[::-1]:
            cpu0 = _cpu(target.server_pid)
            result = await run_load(
                op, args.seconds, args.warmup, args.concurrency, server_pid=target.server_pid
            )
            result["server_cpu_s"] = round(_cpu(target.server_pid) - cpu0, 2)
            results[name].append(result)
            print(
                f"  round {round_ + 1} {name:<14} {result['per_s']:>6}/s "
                f"p50 {result['p50_ms']} ms, errors {result['errors']} "
                f"{result['first_errors'][:1]}, server {result['server_cpu']} cores",
                file=sys.stderr,
                flush=True,
            )
    await transport.aclose()
    return results


def _cpu(pid: int | None) -> float:
    from bench.oidc_driver import tree_cpu_seconds

    return tree_cpu_seconds(pid) or 0.0


def summarise(results: dict[str, list[dict]]) -> dict[str, float]:
    def totals(name: str) -> tuple[int, float, float]:
        runs = results[name]
        return (
            sum(r["ops"] for r in runs),
            sum(r["seconds"] for r in runs),
            sum(r["server_cpu_s"] for r in runs),
        )

    pwd_ops, pwd_s, pwd_cpu = totals("password")
    otp_ops, otp_s, otp_cpu = totals("password+totp")
    pwd_rate, otp_rate = pwd_ops / pwd_s, otp_ops / otp_s
    pwd_ms, otp_ms = 1000 * pwd_cpu / max(pwd_ops, 1), 1000 * otp_cpu / max(otp_ops, 1)
    return {
        "password_per_s": round(pwd_rate, 2),
        "totp_per_s": round(otp_rate, 2),
        "ratio": round(otp_rate / pwd_rate, 3),
        "password_cpu_ms_per_login": round(pwd_ms, 1),
        "totp_cpu_ms_per_login": round(otp_ms, 1),
        "second_factor_cpu_share": round((otp_ms - pwd_ms) / pwd_ms, 3),
        "errors": sum(r["errors"] for runs in results.values() for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per round and kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--authenticators", type=int, default=2)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--driver-cpu", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.driver_cpu})  # the driver on its own core
    with (
        tempfile.TemporaryDirectory(prefix="tx-step-up-") as workdir,
        server(
            Path(workdir),
            cpu=args.server_cpu,
            people=args.people,
            authenticators=args.authenticators,
        ) as target,
    ):
        results = asyncio.run(measure(args, target))
    summary = summarise(results)
    if args.json:
        print(json.dumps({"summary": summary, "rounds": results}, indent=2))
        return
    verdict = "met" if summary["second_factor_cpu_share"] < 0.10 else "NOT met"
    print(
        f"password: {summary['password_per_s']} logins/s, "
        f"{summary['password_cpu_ms_per_login']} ms of server CPU each\n"
        f"password + TOTP: {summary['totp_per_s']} logins/s, "
        f"{summary['totp_cpu_ms_per_login']} ms of server CPU each\n"
        f"ratio TOTP / password (logins per second): {summary['ratio']}\n"
        f"the second factor's share of a login's server CPU: "
        f"{summary['second_factor_cpu_share']:.1%} (target < 10 %: {verdict}); "
        f"errors {summary['errors']}"
    )


if __name__ == "__main__":
    main()
