"""Tongxing's identity provider against Node's oidc-provider, side by side in one run.

Run: .venv/bin/python -m bench.oidc_vs_peer [--seconds 10] [--concurrency 8] [--same-hash]
                                          [--only login]

Use this bench for whole logins only (`--only login`): its Python driver saturates near
400 requests/s on the project's machine, so its `cc` and `userinfo` figures measure the
driver, not the servers. Single endpoints are measured with `wrk` by `bench.edge_wrk`, which
also reuses the server set-up below (with each server pinned to one core).

Starts both servers on loopback with ONE worker process each and ES256 signatures —
Tongxing with `tongxing serve` on its embedded configuration (SQLite + in-process store,
production mode), the peer from `bench/oidc_peer/` (`npm ci` on first use) — then drives
both with `bench/oidc_driver.py` (one client process, asyncio + httpx, alternating targets
per scenario) and prints throughput, p50 and p99 per scenario, and the ratios ours/peer:

  cc        client_credentials token requests (JWT access tokens, ES256, both)
  login     whole authorization-code logins (authorize -> sign-in form -> code -> token)
  userinfo  userinfo requests with one access token

Password hashing at each side's defaults: Tongxing argon2id m=46 MiB, t=1, p=1 (OWASP);
the peer argon2id with the npm `argon2` package's defaults, m=64 MiB, t=3, p=4. With
`--same-hash` the peer uses Tongxing's parameters, for a like-for-like login figure.
Both servers are stopped by their PIDs at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "oidc_peer"
REDIRECT = "http://127.0.0.1:9/cb"
PASSWORD = "bench-password-123"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({url})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server not ready: {url}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _tongxing(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "tongxing", *args],
        env=env,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )


def _pinned(command: list[str], cpu: int | None) -> list[str]:
    """``command`` run on core ``cpu`` only (`taskset`), or unpinned for None."""
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


@contextmanager
def tongxing_server(
    workdir: Path, *, cpu: int | None = None, log_level: str = "warning"
) -> Iterator[tuple[str, int, dict[str, str]]]:
    """Our server, one worker, with a machine client, a web client and a person."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TONGXING_")},
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(workdir),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "TONGXING_OPS_TOKEN": secrets.token_urlsafe(32),
        "TONGXING_LOG_LEVEL": log_level,
        # The driver signs in hundreds of times from one address and one account, 8 at once
        # (more simultaneous attempts on one account than the default limit of 5 admits).
        "TONGXING_LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
        "TONGXING_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000",
    }
    secret = secrets.token_urlsafe(24)
    _tongxing(env, "db", "upgrade")
    _tongxing(env, "keys", "init")
    _tongxing(env, "users", "create", "--username", "bench", "--password-stdin", stdin=PASSWORD)
    _tongxing(
        env,
        "clients",
        "create",
        "--client-id",
        "bench-machine",
        "--grant-type",
        "client_credentials",
        "--scope",
        "seal:sign",
        "--client-secret-stdin",
        stdin=secret,
    )
    _tongxing(
        env,
        "clients",
        "create",
        "--client-id",
        "bench-web",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "openid profile",
        "--redirect-uri",
        REDIRECT,
        "--first-party",
        "--client-secret-stdin",
        stdin=secret,
    )
    process = subprocess.Popen(
        _pinned(
            [sys.executable, "-m", "tongxing", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cpu,
        ),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/readyz", process)
        yield f"http://127.0.0.1:{port}", process.pid, {"secret": secret}
    finally:
        _stop(process)


@contextmanager
def peer_server(*, same_hash: bool, cpu: int | None = None) -> Iterator[tuple[str, int]]:
    """The oidc-provider peer, one process."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("Node.js and npm are needed for the peer (Debian nodejs npm)")
    if not (PEER / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    port = _free_port()
    env = {**os.environ, "PORT": str(port)}
    if same_hash:
        env.update(PEER_ARGON2_M="47104", PEER_ARGON2_T="1", PEER_ARGON2_P="1")
    process = subprocess.Popen(
        _pinned(["node", "server.mjs"], cpu),
        cwd=PEER,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/.well-known/openid-configuration", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        _stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--same-hash", action="store_true", help="peer uses our argon2 parameters")
    parser.add_argument(
        "--only",
        default="cc,login,userinfo",
        help="comma list of scenarios (cc, login, userinfo); `login` is the one this bench "
        "is for, the others are measured with wrk by bench.edge_wrk",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tx-bench-") as workdir,
        tongxing_server(Path(workdir)) as (ours, our_pid, creds),
        peer_server(same_hash=args.same_hash) as (peer, peer_pid),
    ):
        command = [
            sys.executable,
            str(Path(__file__).parent / "oidc_driver.py"),
            "compare",
            "--base-url",
            ours,
            "--peer-url",
            peer,
            "--client-id",
            "bench-machine",
            "--client-secret",
            creds["secret"],
            "--web-client-id",
            "bench-web",
            "--web-client-secret",
            creds["secret"],
            "--redirect-uri",
            REDIRECT,
            "--username",
            "bench",
            "--password",
            PASSWORD,
            "--server-pid",
            str(our_pid),
            "--peer-pid",
            str(peer_pid),
            "--seconds",
            str(args.seconds),
            "--concurrency",
            str(args.concurrency),
            "--scenarios",
            args.only,
        ]
        if args.json:
            command.append("--json")
        subprocess.run(command, check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
