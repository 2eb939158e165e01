"""The "provincial platform" for federation tests: Node's oidc-provider (pinned in
``tests/idp/upstream_peer/``), installed with ``npm ci`` into a cache directory on first use,
started on a loopback port and stopped by PID; and our own server on uvicorn in a thread."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

PEER_SOURCE = Path(__file__).parent / "idp" / "upstream_peer"
FILES = ("package.json", "package-lock.json", ".npmrc", "server.mjs")


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tongxing" / "upstream-peer"


def installed_peer() -> Path:
    """A directory with the peer's files and its ``node_modules`` (``npm ci`` once per
    version of the lock file); skips (fails in CI) without Node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("node and npm are needed (./dev test installs them)")
        pytest.skip("node/npm not installed")
    digest = hashlib.sha256(
        b"".join((PEER_SOURCE / name).read_bytes() for name in FILES[:3])
    ).hexdigest()[:16]
    target = _cache_root() / digest
    if not (target / "node_modules" / "oidc-provider").is_dir():
        staging = target.with_name(f"{digest}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in FILES[:3]:
            shutil.copy(PEER_SOURCE / name, staging / name)
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=staging,
            check=True,
            capture_output=True,
            timeout=600,
        )
        try:
            staging.rename(target)
        except OSError:  # another worker installed it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    shutil.copy(PEER_SOURCE / "server.mjs", target / "server.mjs")  # always the current one
    return target


@dataclass
class Peer:
    """The running upstream provider."""

    process: subprocess.Popen[bytes]
    issuer: str
    log: Path

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 10 s."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def fault(self, kind: str) -> None:
        """Make the next token response carry a broken ID token (see server.mjs)."""
        response = httpx.post(f"{self.issuer}/test/fault", data={"kind": kind}, timeout=5)
        assert response.status_code == 204


@contextmanager
def running_peer(
    *, port: int, rp_base: str, upstream_id: str, client_secret: str, log: Path
) -> Iterator[Peer]:
    """Start the peer on 127.0.0.1:``port`` and wait for its discovery document."""
    directory = installed_peer()
    env = {
        **os.environ,
        "PORT": str(port),
        "RP_BASE": rp_base,
        "UPSTREAM_ID": upstream_id,
        "CLIENT_SECRET": client_secret,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", "server.mjs"], cwd=directory, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    peer = Peer(process=process, issuer=f"http://127.0.0.1:{port}", log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the peer exited:\n{log.read_text()}")
            try:
                url = f"{peer.issuer}/.well-known/openid-configuration"
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield peer
    finally:
        peer.stop()


@contextmanager
def serving(app: Any, *, port: int) -> Iterator[str]:
    """Our ASGI app on uvicorn (127.0.0.1:``port``, in a thread, lifespan run); yields its
    base URL and stops it afterwards."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("our server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
