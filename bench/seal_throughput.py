"""Seals per second through the API, against plain pyHanko signing the same files.

Run: .venv/bin/python -m bench.seal_throughput [--seconds 10] [--min-runs 5] [--in-flight 1,4]

One `tongxing demo` server (one uvicorn worker, SQLite, seal `seal_demo_approval`) seals a
1-page permit padded to ~50 KB and one padded to ~10 MB, at B-B and B-T, one request at a
time from one keep-alive client (POST /seal/v1/sign at page 1, x, y like the baseline's box;
``--anchor`` places it on the text "（盖章）" instead, which adds the text search). The
baseline is plain
pyHanko in this process with default settings: `SimpleSigner.load` (P-256 key, like the
seal's), `sign_pdf` with a new visible field and pyHanko's default stamp, no bytes_reserved
(a dry-run signature sizes the CMS), and for B-T `HTTPTimeStamper` on the same server's
/pki/tsa. Target: Tongxing / pyHanko >= 1.5 seals/s per case. Per seal, the server's stages
from its Server-Timing header (parse, stamp, hash, sign, write, log) and "http": what the
client waited beyond them (upload, multipart parsing, token check, download). Each sealed
output is checked once, outside the timed loops: TOTAL_PASSED from /seal/v1/verify for
ours; pyHanko's validator passes the baseline's (bench root and the server's TSA trusted).

``--in-flight 1,4`` measures ours with 1 and then 4 requests in flight (threads, each
looping; the baseline stays one document at a time, measured once per case), and prints
"seals/commit": seals logged per checkpoint signed during the run, read from the server's
SQLite file (1.0 one at a time; more when sealings in flight share a commit, group commit).
With several in flight, "log" includes the wait for the group ahead to commit.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from io import BytesIO
from pathlib import Path

import httpx
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.processes import running_server
from tongxing.demo_data import CERTSYS_CLIENT_ID, CERTSYS_SECRET, DEMO_SEAL_ID
from tongxing.demo_sealing import sample_permit

STAGES = ("parse", "authorise", "stamp", "hash", "sign", "write", "log")
SIZES = (50 * 1024, 10 * 1024 * 1024)  # bytes: a 1-page permit, and one padded to 10 MiB


def rate(
    operation: Callable[[], object], seconds: float, minimum: int, in_flight: int = 1
) -> float:
    """Operations per second, ``in_flight`` at a time (threads, each looping)."""
    operation()  # warm-up
    lock = threading.Lock()
    done, started = 0, time.perf_counter()

    def loop() -> None:
        nonlocal done
        while True:
            with lock:
                if time.perf_counter() - started >= seconds and done >= minimum:
                    return
            operation()
            with lock:
                done += 1

    threads = [threading.Thread(target=loop) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.perf_counter() - started)


def permit(total_bytes: int) -> bytes:
    """The demo permit (as `tongxing.demo_sealing.sample_permit`) padded to about this size."""

    def make(padding: int) -> bytes:
        return sample_permit(padding_bytes=padding)

    return make(max(0, total_bytes - len(make(0))))


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    ca, now = issuer is None, datetime.now(UTC)
    issuer_name, issuer_key = issuer or (name, key)
    # digital_signature, content_commitment (non-repudiation, which pyHanko's validator wants),
    # key/data encipherment, key agreement, key_cert_sign, crl_sign, encipher/decipher only
    usage = x509.KeyUsage(not ca, not ca, False, False, False, ca, ca, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def baseline_signer(directory: Path) -> tuple[signers.Signer, asn1_x509.Certificate]:
    """A P-256 key and certificate under a throw-away root, loaded from PEM files."""
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _certificate("Bench Root", root_key)
    leaf = _certificate("Bench Signer", key, (root.subject, root_key))
    pem = serialization.Encoding.PEM
    (directory / "root.pem").write_bytes(root.public_bytes(pem))
    (directory / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(directory / "key.pem"),
        str(directory / "cert.pem"),
        ca_chain_files=(str(directory / "root.pem"),),
    )
    assert signer is not None
    return signer, asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))


def pyhanko_seal(pdf: bytes, signer: signers.Signer, stamper: HTTPTimeStamper | None) -> bytes:
    """What a naive integration does per document."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    spec = fields.SigFieldSpec("Signature1", on_page=0, box=(400, 80, 520, 200))
    out = signers.sign_pdf(writer, meta, signer=signer, timestamper=stamper, new_field_spec=spec)
    return out.getvalue()  # type: ignore[no-any-return]


class Api:
    """The certificate system's side: a client_credentials token (refreshed) and /sign."""

    def __init__(self, client: httpx.Client, *, anchor: bool, in_flight: int = 1) -> None:
        self.client, self.token, self.expires = client, "", 0.0
        self.in_flight = in_flight
        # The baseline is told where the seal goes (a box); so are we, unless --anchor.
        self.placement = {"anchor": "（盖章）"} if anchor else {"page": "1", "x": "460", "y": "140"}

    def bearer(self) -> str:
        if time.monotonic() > self.expires - 30:
            answer = self.client.post(
                "/token",
                data={"grant_type": "client_credentials", "scope": "seal:sign"},
                auth=(CERTSYS_CLIENT_ID, CERTSYS_SECRET),
            )
            answer.raise_for_status()
            body = answer.json()
            self.token = body["access_token"]
            self.expires = time.monotonic() + float(body.get("expires_in", 600))
        return self.token

    def seal(self, pdf: bytes, level: str) -> httpx.Response:
        answer = self.client.post(
            "/seal/v1/sign",
            headers={"Authorization": f"Bearer {self.bearer()}"},
            files={"file": ("permit.pdf", pdf, "application/pdf")},
            data={"seal_id": DEMO_SEAL_ID, "level": level, **self.placement},
        )
        if answer.status_code != 200:
            raise SystemExit(f"/seal/v1/sign {level}: {answer.status_code} {answer.text[:300]}")
        return answer

    def upload_only(self, pdf: bytes) -> None:
        """The same upload refused at the token check: the floor HTTP alone sets (upload
        and multipart parsing, no sealing, a small answer)."""
        answer = self.client.post(
            "/seal/v1/sign",
            headers={"Authorization": "Bearer not-a-token"},
            files={"file": ("permit.pdf", pdf, "application/pdf")},
            data={"seal_id": DEMO_SEAL_ID, **self.placement},
        )
        assert answer.status_code == 401

    def timed_seal(self, pdf: bytes, level: str, into: list[dict[str, float]]) -> None:
        """Append milliseconds per server stage, and the client's whole wait as "total"."""
        started = time.perf_counter()
        answer = self.seal(pdf, level)
        stages = {"total": (time.perf_counter() - started) * 1000}
        for part in answer.headers.get("server-timing", "").split(","):
            name, _, duration = part.strip().partition(";dur=")
            if duration:
                stages[name] = stages.get(name, 0.0) + float(duration)
        into.append(stages)


def trust(api: Api, bench_root: asn1_x509.Certificate) -> ValidationContext:
    """Our bench root and the server's root as anchors (its infra CA issues the TSA)."""
    ca = {
        n: asn1_x509.Certificate.load(api.client.get(f"/pki/ca/{n}.crt").content)
        for n in ("root", "infra")
    }
    return ValidationContext(trust_roots=[bench_root, ca["root"]], other_certs=[ca["infra"]])


def check_outputs(
    api: Api, pdf: bytes, level: str, baseline: bytes, context: ValidationContext
) -> None:
    sealed = api.seal(pdf, level).content
    report = api.client.post(
        "/seal/v1/verify", files={"file": ("sealed.pdf", sealed, "application/pdf")}
    ).json()
    if report.get("indication") != "TOTAL_PASSED":
        raise SystemExit(f"Tongxing {level} output does not verify: {report}")
    embedded = PdfFileReader(BytesIO(baseline)).embedded_signatures
    status = validate_pdf_signature(embedded[0], context, context)
    stamp = status.timestamp_validity
    if not status.bottom_line or (level == "B-T") != (stamp is not None and stamp.trusted):
        details = status.pretty_print_details()  # type: ignore[no-untyped-call]
        raise SystemExit(f"pyHanko {level} output does not validate:\n{details}")


def log_counts(database: Path) -> tuple[int, int]:
    """(seal entries, checkpoints) in the server's audit log, read-only."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        seals = connection.execute(
            "SELECT count(*) FROM audit_entries WHERE type = 'seal.applied'"
        ).fetchone()[0]
        checkpoints = connection.execute("SELECT count(*) FROM audit_checkpoints").fetchone()[0]
    return int(seals), int(checkpoints)


def ours_case(
    api: Api, pdf: bytes, level: str, budget: tuple[float, int], database: Path
) -> tuple[float, dict[str, float], float]:
    """Tongxing's seals/s at ``api.in_flight``, its mean ms per stage, seals per commit."""
    timings: list[dict[str, float]] = []
    seals, checkpoints = log_counts(database)
    ours = rate(partial(api.timed_seal, pdf, level, timings), *budget, api.in_flight)
    after = log_counts(database)
    del timings[0]  # rate's warm-up
    keys = (*STAGES, "total")
    mean = {k: sum(t.get(k, 0.0) for t in timings) / len(timings) for k in keys}
    mean["http"] = mean["total"] - sum(mean[s] for s in STAGES)
    per_commit = (after[0] - seals) / max(1, after[1] - checkpoints)
    return ours, mean, per_commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per case and side")
    parser.add_argument("--min-runs", type=int, default=5, help="timed seals per case at least")
    parser.add_argument(
        "--anchor", action="store_true", help='place our seal by the anchor text "（盖章）"'
    )
    parser.add_argument(
        "--in-flight",
        default="1",
        help="our requests in flight at once, comma-separated levels measured in turn (the "
        "server process's throughput); the baseline stays one document at a time",
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.in_flight.split(",")]
    columns = (*STAGES, "http")
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tx-bench-seal-") as tmp:
        signer, bench_root = baseline_signer(Path(tmp))
        with (
            running_server("demo", env={"TONGXING_LOG_LEVEL": "warning"}, cwd=Path(tmp)) as server,
            httpx.Client(
                base_url=server.base_url,
                timeout=120,
                limits=httpx.Limits(max_connections=max(levels) + 1),
            ) as client,
        ):
            api = Api(client, anchor=args.anchor)
            database = Path(tmp) / "var" / "tongxing.db"
            context = trust(api, bench_root)
            stamper = HTTPTimeStamper(f"{server.base_url}/pki/tsa")  # one, as an app keeps it
            for size in SIZES:
                pdf = permit(size)
                floor = rate(partial(api.upload_only, pdf), args.seconds / 2, args.min_runs)
                print(f"{len(pdf) / 1024:,.0f} KiB upload alone: {1000 / floor:.1f} ms")
                for level in ("B-B", "B-T"):
                    case = f"{len(pdf) / 1024:,.0f} KiB {level}"
                    tsa = stamper if level == "B-T" else None
                    check_outputs(api, pdf, level, pyhanko_seal(pdf, signer, tsa), context)
                    baseline = partial(pyhanko_seal, pdf, signer, tsa)
                    budget = (args.seconds, args.min_runs)
                    base = rate(baseline, *budget)
                    for in_flight in levels:
                        api.in_flight = in_flight
                        ours, mean, per_commit = ours_case(api, pdf, level, budget, database)
                        ms = " / ".join(f"{mean[k]:.1f}" for k in columns)
                        print(
                            f"{case}, {in_flight} in flight: Tongxing {ours:,.2f}/s, pyHanko "
                            f"{base:,.2f}/s, ratio {ours / base:.2f}; seals/commit "
                            f"{per_commit:.2f}; ms/seal {'/'.join(columns)} {ms} = "
                            f"{mean['total']:.1f}"
                        )
                        rows.append(
                            f"| {case} | {in_flight} | {ours:,.2f} | {base:,.2f} | "
                            f"**{ours / base:.2f}** | {per_commit:.2f} | {ms} = "
                            f"{mean['total']:.1f} |"
                        )
    print(
        f"\n| case | in flight | Tongxing seals/s | pyHanko seals/s | ratio | seals/commit | "
        f"ms/seal {' / '.join(columns)} = total |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
