"""A stand-in SMS provider on loopback for tests: a real HTTP server that accepts the HTTP
gateway's JSON posts (or answers an error) and keeps what it received."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.receiver import _Quiet, _serving

TOKEN = "sms-provider-token-for-tests-0123456789"


@dataclass
class Provider:
    """The provider's URL, what it answers, and the messages it accepted."""

    url: str = ""
    status: int = 200
    received: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    def to(self, phone: str) -> list[str]:
        """The texts sent to ``phone``, oldest first."""
        return [m["text"] for m in self.received if m["to"] == phone]

    def code(self, phone: str) -> str:
        """The code in the latest message to ``phone``."""
        texts = self.to(phone)
        assert texts, f"no message to {phone}"
        found = re.search(r"\b(\d{6})\b", texts[-1])
        assert found, texts[-1]
        return found.group(1)


@contextmanager
def provider() -> Iterator[Provider]:
    """A running provider (stopped afterwards)."""
    state = Provider()

    class Handler(_Quiet):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length))
            state.authorizations.append(self.headers.get("authorization", ""))
            if state.status == 200:
                state.received.append(body)
            self.send_response(state.status)
            self.send_header("content-length", "0")
            self.end_headers()

    with _serving(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/sms"
        yield state


def settings(state: Provider) -> dict[str, str]:
    """Settings values sending text messages to ``state``."""
    return {"sms_gateway": "http", "sms_http_url": state.url, "sms_http_token": TOKEN}
