"""Real server processes for tests: start ``tongxing`` on a free loopback port, stop by PID."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _below_the_ephemeral_range() -> range | None:
    """Ports under the kernel's ephemeral range (Linux), or None when it cannot be read."""
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return range(max(10_000, low - 12_000), low) if low > 11_000 else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now. A server binds it seconds later,
    so it is taken below the kernel's ephemeral range where that can be read: a port from
    that range may meanwhile become the local end of one of the suite's own outgoing
    connections (database, browser, HTTP clients), which the server then cannot bind."""
    ports = _below_the_ephemeral_range() or range(0)
    for _ in range(50 if ports else 0):
        port = random.choice(ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tongxing(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``tongxing`` CLI to completion in a clean ``TONGXING_*`` environment."""
    return subprocess.run(
        [sys.executable, "-m", "tongxing", *args],
        env=clean_env(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment without any ``TONGXING_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXING_")}
    env.update(extra)
    return env


@dataclass
class Server:
    """A running ``tongxing`` server process."""

    process: subprocess.Popen[str]
    base_url: str
    log: Path

    def stop(self) -> int:
        """SIGTERM by PID, wait for a clean exit (SIGKILL after 20 s); returns the exit code."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return self.process.returncode


@contextmanager
def running_server(
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    port: int | None = None,
    ready_timeout: float = 180,
) -> Iterator[Server]:
    """Start ``tongxing <args> --port P`` and wait (up to ``ready_timeout`` seconds) until
    ``/readyz`` answers 200."""
    port = port or free_port()
    log = cwd / f"server-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tongxing", *args, "--host", "127.0.0.1", "--port", str(port)],
            env=clean_env(env),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    # The demo's issuer is http://localhost:P (passkeys need a host name); the server still
    # listens on 127.0.0.1 only.
    host = "localhost" if args[:1] == ("demo",) and "TONGXING_ISSUER" not in env else "127.0.0.1"
    server = Server(process=process, base_url=f"http://{host}:{port}", log=log)
    try:
        wait_ready(server, timeout=ready_timeout)
        yield server
    finally:
        server.stop()


def wait_ready(server: Server, timeout: float = 180) -> None:
    """Wait until ``server`` answers ``/readyz`` with 200 (or fail with its log)."""
    # Generous: with xdist's workers on a shared 2-core machine, a `--workers 2` server
    # has been seen taking 30 s to import and start its worker processes.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout}s:\n{server.log.read_text()}")
