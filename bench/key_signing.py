"""Signatures per second through the key stores, as a fraction of raw ``cryptography``.

Run: .venv/bin/python -m bench.key_signing [--seconds 2] [--no-hsm]
For P-256 and RSA-3072: the raw primitive (baseline), the software store (target >= 0.8 of
raw), and the PKCS#11 store on SoftHSM2 when it is installed. Then time-stamps per second
from a real server's /pki/tsa, against /healthz on the same server as the HTTP baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from asn1crypto import tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from keys.algorithms import KeyAlgorithm
from keys.envelope import KeyEncryptionKey
from keys.stores.software import SoftwareKeyStore

MESSAGE = os.urandom(300)  # about the size of a CMS signed-attributes block


def rate(operation: Callable[[], object], seconds: float) -> float:
    operation()  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(20):
            operation()
        done += 20
    return done / (time.perf_counter() - started)


def raw_signer(algorithm: KeyAlgorithm) -> Callable[[], bytes]:
    """The primitive as an application would call it, with its parameter objects prebuilt."""
    if algorithm is KeyAlgorithm.ES256:
        ec_key, ecdsa = ec.generate_private_key(ec.SECP256R1()), ec.ECDSA(hashes.SHA256())
        return lambda: ec_key.sign(MESSAGE, ecdsa)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    return lambda: rsa_key.sign(MESSAGE, pkcs1, sha256)


def hsm_store(directory: Path) -> object | None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pki import init_softhsm

    try:
        hsm = init_softhsm(directory)
    except RuntimeError as exc:
        print(f"PKCS#11: skipped ({exc})")
        return None
    from keys.stores.pkcs11 import Pkcs11KeyStore

    return Pkcs11KeyStore(module=hsm.module, token_label=hsm.token_label, pin=hsm.pin)


def bench_stores(seconds: float, with_hsm: bool) -> None:
    software = SoftwareKeyStore(KeyEncryptionKey(os.urandom(32), salt=os.urandom(32)))
    hsm = hsm_store(Path(tempfile.mkdtemp(prefix="tx-bench-hsm-"))) if with_hsm else None
    print(f"{'key':<10} {'store':<10} {'signatures/s':>14} {'ratio to raw':>13}")
    for algorithm in KeyAlgorithm:
        baseline = rate(raw_signer(algorithm), seconds)
        print(f"{algorithm.description:<10} {'raw':<10} {baseline:14,.0f} {1:13.2f}")
        stores = [software] + ([hsm] if hsm else [])
        for store in stores:
            _, key = store.generate(key_id=f"bench-{algorithm}", algorithm=algorithm)  # type: ignore[attr-defined]
            measured = rate(lambda key=key: key.sign(MESSAGE), seconds)
            name = store.name  # type: ignore[attr-defined]
            ratio = measured / baseline
            print(f"{algorithm.description:<10} {name:<10} {measured:14,.0f} {ratio:13.2f}")


def bench_tsa(seconds: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.processes import running_server

    work = Path(tempfile.mkdtemp(prefix="tx-bench-tsa-"))
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"doc").digest(),
            },
            "cert_req": True,
        }
    ).dump()
    with (
        running_server("demo", env={"TONGXING_LOG_LEVEL": "warning"}, cwd=work) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        health = rate(lambda: client.get("/healthz"), seconds)
        stamps = rate(
            lambda: client.post(
                "/pki/tsa", content=request, headers={"content-type": "application/timestamp-query"}
            ),
            seconds,
        )
    print(f"\nHTTP /healthz (baseline): {health:8,.0f} requests/s")
    print(f"HTTP /pki/tsa:            {stamps:8,.0f} time-stamps/s  ratio {stamps / health:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--no-hsm", action="store_true")
    args = parser.parse_args()
    bench_stores(args.seconds, with_hsm=not args.no_hsm)
    bench_tsa(args.seconds)


if __name__ == "__main__":
    main()
