"""Real HTTP servers on loopback for the other side of server-to-server calls in tests: a
relying party's back-channel logout endpoint, a client's JWKS document (healthy or failing)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """The port of a server running ``handler``; stopped (and joined) afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def receiver(status: int = 200) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """(URL, received form posts) of a server answering ``status``."""
    received: list[dict[str, str]] = []

    class Handler(_Quiet):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            received.append({k: v[0] for k, v in form.items()})
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

    with _serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/backchannel", received


@contextmanager
def json_document(document: object) -> Iterator[str]:
    """The URL of a server answering GETs with ``document`` as JSON."""
    body = json.dumps(document).encode()

    class Handler(_Quiet):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with _serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/jwks.json"


@dataclass
class Served:
    """What a :func:`counted_json_document` server answers, and how often it was asked."""

    status: int = 200
    fetches: int = 0


@contextmanager
def counted_json_document(document: object) -> Iterator[tuple[str, Served]]:
    """(URL, state) of a server answering GETs with ``document`` as JSON while
    ``state.status`` is 200 (an empty body with that status otherwise), counting requests."""
    body = json.dumps(document).encode()
    state = Served()

    class Handler(_Quiet):
        def do_GET(self) -> None:
            state.fetches += 1
            payload = body if state.status == 200 else b""
            self.send_response(state.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with _serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/jwks.json", state
