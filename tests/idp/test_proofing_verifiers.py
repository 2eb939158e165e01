"""The identity checks' verifiers: the development registry and liveness tokens, and the HTTP
adapters against a service this test starts on loopback; the settings that choose them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.settings import SettingsError, load_settings
from core.store import Store, create_store
from idp.proofing import (
    DevelopmentFaceVerifier,
    DevelopmentRealNameRegistry,
    FaceVerdict,
    HttpFaceVerifier,
    HttpRealNameVerifier,
    Verdict,
    build_face,
    build_real_name,
)
from tests.conftest import strong_secret

NUMBER = "350102200001012463"


def test_the_development_registry_confirms_only_seeded_pairs() -> None:
    registry = DevelopmentRealNameRegistry([("周九", NUMBER)])
    assert registry.verify("周九", NUMBER) is Verdict.CONFIRMED
    assert registry.verify("周十", NUMBER) is Verdict.MISMATCH
    assert registry.verify("王五", "350102197806157892") is Verdict.MISMATCH
    registry.seed("王五", "350102197806157892")
    assert registry.verify("王五", "350102197806157892") is Verdict.CONFIRMED
    with pytest.raises(ValueError):
        registry.seed("坏", "350102197806157891")  # wrong check digit


def test_a_development_liveness_token_is_good_once_for_its_person(store: Store) -> None:
    face = DevelopmentFaceVerifier(store=store, key=lambda: b"k" * 32)
    token = face.issue("u1")
    assert face.verify(user_id="u2", national_id=NUMBER, liveness_token=token) is FaceVerdict.FAILED
    assert face.verify(user_id="u1", national_id=NUMBER, liveness_token=token) is (
        FaceVerdict.CONFIRMED
    )
    # Single use: the same token again fails.
    assert face.verify(user_id="u1", national_id=NUMBER, liveness_token=token) is FaceVerdict.FAILED
    nonce, issued, mac = face.issue("u1").split(".")
    forged = f"{nonce}.{int(issued) + 1}.{mac}"
    assert face.verify(user_id="u1", national_id=NUMBER, liveness_token=forged) is (
        FaceVerdict.FAILED
    )
    old = face.issue("u1", now=1_000_000)
    assert face.verify(user_id="u1", national_id=NUMBER, liveness_token=old) is FaceVerdict.FAILED
    other_key = DevelopmentFaceVerifier(store=store, key=lambda: b"x" * 32)
    assert other_key.verify(user_id="u1", national_id=NUMBER, liveness_token=face.issue("u1")) is (
        FaceVerdict.FAILED
    )
    for junk in ("", "a.b.c", "x" * 200):
        assert face.verify(user_id="u1", national_id=NUMBER, liveness_token=junk) is (
            FaceVerdict.FAILED
        )


class _Service:
    """A stand-in authority on loopback: answers what ``answer`` says, records requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], str | None]] = []
        self.answer: tuple[int, bytes] = (200, b'{"verdict": "confirmed"}')
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                service.requests.append((self.path, body, self.headers.get("authorization")))
                status, payload = service.answer
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def service() -> Iterator[_Service]:
    running = _Service()
    yield running
    running.close()


def test_the_http_real_name_adapter_follows_the_contract(service: _Service) -> None:
    verifier = HttpRealNameVerifier(url=service.url + "/check", token="s3cret-token")
    assert verifier.verify("周九", NUMBER) is Verdict.CONFIRMED
    assert service.requests[-1] == (
        "/check",
        {"name": "周九", "national_id": NUMBER},
        "Bearer s3cret-token",
    )
    service.answer = (200, b'{"verdict": "mismatch"}')
    assert verifier.verify("周九", NUMBER) is Verdict.MISMATCH
    for answer in ((500, b"{}"), (200, b"not json"), (200, b'{"verdict": "maybe"}'), (200, b"[]")):
        service.answer = answer
        assert verifier.verify("周九", NUMBER) is Verdict.UNAVAILABLE
    gone = HttpRealNameVerifier(url="http://127.0.0.1:9/nothing-listens")
    assert gone.verify("周九", NUMBER) is Verdict.UNAVAILABLE


def test_the_http_face_adapter_follows_the_contract(service: _Service) -> None:
    verifier = HttpFaceVerifier(url=service.url + "/face")
    assert (
        verifier.verify(user_id="u1", national_id=NUMBER, liveness_token="sdk-token")
        is FaceVerdict.CONFIRMED
    )
    assert service.requests[-1] == (
        "/face",
        {"national_id": NUMBER, "liveness_token": "sdk-token"},
        None,
    )
    service.answer = (200, b'{"verdict": "failed"}')
    assert verifier.verify(user_id="u1", national_id=NUMBER, liveness_token="t") is (
        FaceVerdict.FAILED
    )
    service.answer = (503, b"")
    assert verifier.verify(user_id="u1", national_id=NUMBER, liveness_token="t") is (
        FaceVerdict.UNAVAILABLE
    )


def _settings(**values: str) -> Any:
    base = {"mode": "production", "key_encryption_key": strong_secret()}
    return load_settings({}, **{**base, **values})


def test_settings_choose_the_verifiers_and_refuse_development_ones_in_production() -> None:
    production = _settings()
    assert production.verifier("realname") == "none" and production.verifier("face") == "none"
    assert build_real_name(production) is None
    demo = load_settings({}, mode="demo")
    assert demo.verifier("realname") == "development"
    assert isinstance(build_real_name(demo), DevelopmentRealNameRegistry)
    store = create_store(redis_url="", prefix="pftest")
    assert isinstance(build_face(demo, store=store, key=lambda: b"k"), DevelopmentFaceVerifier)
    for kind in ("realname", "face"):
        with pytest.raises(SettingsError, match="demo mode only"):
            _settings(**{f"{kind}_verifier": "development"})
        with pytest.raises(SettingsError, match=f"TONGXING_{kind.upper()}_URL"):
            _settings(**{f"{kind}_verifier": "http"})
    chosen = _settings(realname_verifier="http", realname_url="https://rn.example/check")
    verifier = build_real_name(chosen)
    assert isinstance(verifier, HttpRealNameVerifier)
    assert verifier.url == "https://rn.example/check"
    with pytest.raises(SettingsError) as refused:
        _settings(realname_verifier="http", realname_url="x", realname_token="hunter2-secret")
    assert "hunter2" not in str(refused.value)
