"""Seals per second of one core, driven by wrk, against plain pyHanko on that core.

Run: .venv/bin/python -m bench.seal_wrk [--seconds 10] [--connections 1,4] [--sizes 50k,10m]
[--levels B-B,B-T]

`bench.seal_throughput` drives the API from a Python client, one request at a time on an
unpinned machine, so what it calls "http" includes that client's own work. This bench
measures the server as `bench.edge_wrk` measures the edge (DESIGN §12): `tongxing demo`
(one uvicorn worker, SQLite, seal `seal_demo_approval`) pinned to core 0 with `taskset`,
`wrk` pinned to core 1 posting the same multipart upload again and again (seal_id, level,
page 1, x, y like the baseline's box, and the permit padded to ~50 KiB or ~10 MiB), and
pyHanko's plain `sign_pdf` (`bench.seal_throughput.pyhanko_seal`, default settings) in a
process of its own pinned to core 0 as well. For B-T the baseline time-stamps through our
server's `/pki/tsa` over HTTP, so the TSA's work also lands on core 0, as ours does in
process. It prints per case and wrk connection count: our seals/s, p50 and p99, the
server's CPU time per seal (`/proc/PID/stat`), pyHanko's seals/s and the ratio (target:
50 KiB B-B ≥ 3×, 10 MiB ≥ 1.5×). Every process it starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.oidc_vs_peer import _free_port, _pinned, _stop, _wait
from bench.wrk_runs import cpu_seconds, parse_wrk, wrk
from tongxing.demo_data import CERTSYS_CLIENT_ID, CERTSYS_SECRET, DEMO_SEAL_ID

BOUNDARY = "tongxing-bench-seal-wrk"
SIZES = {"50k": 50 * 1024, "10m": 10 * 1024 * 1024}
LEVELS = ("B-B", "B-T")
SERVER_CPU, LOAD_CPU = 0, 1


def multipart(pdf: bytes, level: str) -> bytes:
    """The upload a certificate system sends: the form fields, then the file."""
    fields = {"seal_id": DEMO_SEAL_ID, "level": level, "page": "1", "x": "460", "y": "140"}
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="permit.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + pdf
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


def baseline(size: int, level: str, tsa: str, seconds: float) -> tuple[float, float]:
    """pyHanko's seals/s in this process (run pinned by the parent) and its CPU ms per seal
    (for B-T without the TSA's, which runs in our server)."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from bench.seal_throughput import baseline_signer, permit, pyhanko_seal

    pdf = permit(size)
    with tempfile.TemporaryDirectory(prefix="tx-bench-seal-wrk-") as tmp:
        signer, _ = baseline_signer(Path(tmp))
        stamper = HTTPTimeStamper(tsa) if level == "B-T" else None
        for _ in range(3):
            pyhanko_seal(pdf, signer, stamper)
        done, started, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds or done < 5:
            pyhanko_seal(pdf, signer, stamper)
            done += 1
        return done / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / done


def pinned_baseline(size: int, level: str, tsa: str, seconds: float) -> tuple[float, float]:
    command = [sys.executable, "-m", "bench.seal_wrk", "--baseline", f"{size},{level},{tsa}"]
    command += ["--seconds", str(seconds)]
    done = subprocess.run(
        _pinned(command, SERVER_CPU), capture_output=True, text=True, check=True, timeout=600
    )
    rate, cpu_ms = done.stdout.strip().splitlines()[-1].split()
    return float(rate), float(cpu_ms)


def token(base: str) -> str:
    answer = httpx.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": "seal:sign"},
        auth=(CERTSYS_CLIENT_ID, CERTSYS_SECRET),
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured run")
    parser.add_argument("--connections", default="1,4", help="wrk connection counts")
    parser.add_argument("--sizes", default="50k,10m", help="comma list of 50k, 10m")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma list of B-B, B-T")
    parser.add_argument("--baseline", help=argparse.SUPPRESS)  # size,level,tsa: one pyHanko run
    args = parser.parse_args()
    if args.baseline:
        size, level, tsa = args.baseline.split(",", 2)
        print(*baseline(int(size), level, tsa, args.seconds))
        return
    from bench.seal_throughput import permit

    connections = [int(n) for n in args.connections.split(",")]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tx-bench-seal-wrk-") as tmp:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXING_")}
        env["TONGXING_LOG_LEVEL"] = "warning"
        command = [sys.executable, "-m", "tongxing", "demo", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            _pinned([*command, "--port", str(port)], SERVER_CPU),
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://localhost:{port}"
            _wait(f"http://127.0.0.1:{port}/readyz", process, timeout=240)
            bearer = token(base)  # ten minutes: far longer than the runs of one case
            for size_name in args.sizes.split(","):
                pdf = permit(SIZES[size_name])
                for level in args.levels.split(","):
                    body = Path(tmp) / f"upload-{size_name}-{level}.bin"
                    body.write_bytes(multipart(pdf, level))
                    content_type = f"multipart/form-data; boundary={BOUNDARY}"
                    check = httpx.post(
                        f"{base}/seal/v1/sign",
                        content=body.read_bytes(),
                        headers={"authorization": f"Bearer {bearer}", "content-type": content_type},
                        timeout=120,
                    )
                    if check.status_code != 200 or not check.content.startswith(b"%PDF"):
                        raise SystemExit(f"/seal/v1/sign: {check.status_code} {check.text[:300]}")
                    theirs, their_cpu = pinned_baseline(
                        SIZES[size_name], level, f"{base}/pki/tsa", args.seconds
                    )
                    case = f"{len(pdf) / 1024:,.0f} KiB {level}"
                    for count in connections:
                        run = functools.partial(
                            wrk,
                            f"{base}/seal/v1/sign",
                            connections=count,
                            cpu=LOAD_CPU,
                            script="upload.lua",
                            script_args=(bearer, content_type, str(body)),
                        )
                        run(seconds=2)  # warm-up, not counted
                        cpu_before = cpu_seconds(process.pid)
                        result = parse_wrk(run(seconds=args.seconds))
                        cpu_ms = (cpu_seconds(process.pid) - cpu_before) * 1000 / result.requests
                        # By CPU: pyHanko's CPU per seal over ours (B-T: theirs without the
                        # TSA's work, which runs in our server process).
                        by_cpu = their_cpu / cpu_ms if level == "B-B" else float("nan")
                        line = (
                            f"| {case} | {count} | {result.per_s:,.1f} | {result.p50_ms:.1f}, "
                            f"{result.p99_ms:.1f} | {cpu_ms:.1f} | {theirs:,.1f} "
                            f"| {their_cpu:.1f} | **{result.per_s / theirs:.2f}** "
                            f"| {by_cpu:.2f} | {result.failures} |"
                        )
                        print(line, file=sys.stderr, flush=True)
                        rows.append(line)
        finally:
            _stop(process)
    print(
        "\n| case | wrk connections | Tongxing seals/s | p50, p99 ms | server CPU ms/seal "
        "| pyHanko seals/s | pyHanko CPU ms/seal | ratio | ratio by CPU (B-B) | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
