"""Running wrk pinned to one core and reading what it says, and the /proc figures of the
server it drives (CPU time, resident memory): shared by the wrk-driven benches."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.oidc_vs_peer import _pinned

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"


@dataclass
class WrkResult:
    """What wrk said about one run."""

    per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # non-2xx/3xx answers and socket errors
    cpu_us: float = 0.0  # the server's CPU time per request (all its threads), microseconds


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"unexpected wrk time {text!r}")
    return float(found[1]) * _UNITS[found[2]]


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, p50, p99, requests and failures from `wrk --latency` output."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    count = re.search(r"^\s+(\d+) requests in", output, re.M)
    if not (rate and p50 and p99 and count):
        raise SystemExit(f"could not read wrk's output:\n{output}")
    failures = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        failures += int(non_2xx[1])
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        failures += sum(int(x) for x in sockets.groups())
    return WrkResult(
        per_s=float(rate[1]),
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        requests=int(count[1]),
        failures=failures,
    )


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    cpu: int,
    script: str | None = None,
    script_args: tuple[str, ...] = (),
) -> str:
    """wrk's output for one run from one thread pinned to ``cpu``."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if script:
        command += ["-s", str(WRK_SCRIPTS / script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(
        _pinned(command, cpu), capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    return done.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and all its threads so far (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """The process's resident set (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")
