"""Sending text messages: the ``SmsGateway`` interface, a development outbox and an HTTP adapter.

Security contract: a gateway never logs a message's text (it carries one-time codes) nor the
full phone number; :class:`DevelopmentSmsGateway` exists for demo mode and tests only (the
settings refuse it outside demo mode) and keeps each message an hour in the shared store;
:class:`HttpSmsGateway` posts JSON with a bearer token to a configured provider URL (https
outside loopback, checked by the settings) within a timeout, and reports any failure as
:class:`SmsUnavailable` without the provider's answer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from core.settings import Mode, Settings
from core.store import Store
from core.stored import read_record

log = logging.getLogger("tongxing.idp.sms")

OUTBOX_SECONDS = 3600
OUTBOX_SHOWN = 50
HTTP_TIMEOUT_SECONDS = 5.0


class SmsUnavailable(RuntimeError):
    """The message could not be handed to the provider; the text names no secret."""


class SmsGateway(Protocol):
    """Hands one text message to a provider."""

    def send(self, phone: str, text: str) -> None:
        """Send ``text`` to ``phone`` (E.164-ish digits); raise :class:`SmsUnavailable`."""


def mask_phone(phone: str) -> str:
    """138****5678: enough for the person to recognise their number, not to read it."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


@dataclass(frozen=True)
class OutboxMessage:
    """A message the development gateway "sent"."""

    phone: str
    text: str
    sent_at: float


class DevelopmentSmsGateway:
    """DEVELOPMENT ONLY: writes each message to an outbox in the shared store (shown at
    ``/demo/sms`` in demo mode), newest first, kept :data:`OUTBOX_SECONDS`. Nothing leaves
    the machine."""

    def __init__(self, *, store: Store, sender: str) -> None:
        self.store = store
        self.sender = sender

    def _counter(self) -> str:
        return self.store.key("idp", "sms-outbox", "counter")

    def _message(self, number: int) -> str:
        return self.store.key("idp", "sms-outbox", str(number))

    def send(self, phone: str, text: str) -> None:
        """Put the message in the outbox."""
        number = self.store.incr(self._counter(), ttl=30 * 86400)
        body = {"phone": phone, "text": f"【{self.sender}】{text}", "sent_at": time.time()}
        self.store.set(self._message(number), json.dumps(body).encode(), ttl=OUTBOX_SECONDS)
        log.info("development SMS to %s put in the outbox", mask_phone(phone))

    def outbox(self, *, limit: int = OUTBOX_SHOWN) -> list[OutboxMessage]:
        """The messages of the last hour, newest first."""
        raw = self.store.get(self._counter())
        newest = int(raw) if raw is not None else 0
        found: list[OutboxMessage] = []
        for number in range(newest, max(newest - limit, 0), -1):
            stored = self.store.get(self._message(number))
            if stored is None:
                break  # older ones expired too
            found.append(read_record(OutboxMessage, stored))
        return found


class HttpSmsGateway:
    """A provider reached over HTTP: ``POST url`` with ``{"to", "text", "sender"}`` as JSON
    and ``Authorization: Bearer <token>``; any 2xx answer counts as accepted."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        sender: str,
        timeout: float = HTTP_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self.sender = sender
        self.timeout = timeout
        self.transport = transport

    def send(self, phone: str, text: str) -> None:
        """Post the message; :class:`SmsUnavailable` unless the provider says 2xx."""
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as http:
                response = http.post(
                    self.url,
                    json={"to": phone, "text": text, "sender": self.sender},
                    headers={"Authorization": f"Bearer {self._token}"},
                )
        except httpx.HTTPError as exc:
            log.warning("SMS to %s failed: %s", mask_phone(phone), type(exc).__name__)
            raise SmsUnavailable("the SMS provider could not be reached") from None
        if not 200 <= response.status_code < 300:
            log.warning("SMS to %s refused: HTTP %s", mask_phone(phone), response.status_code)
            raise SmsUnavailable(f"the SMS provider answered HTTP {response.status_code}")
        log.info("SMS to %s accepted by the provider", mask_phone(phone))


def build_gateway(settings: Settings, *, store: Store) -> SmsGateway | None:
    """The gateway the settings choose: development (demo mode's default), HTTP, or none
    (production without a provider simply has no SMS methods)."""
    choice = settings.sms_gateway or ("development" if settings.mode is Mode.DEMO else "")
    if choice == "development":
        return DevelopmentSmsGateway(store=store, sender=settings.sms_sender_name)
    if choice == "http" and settings.sms_http_token is not None:
        return HttpSmsGateway(
            url=settings.sms_http_url,
            token=settings.sms_http_token.get_secret_value(),
            sender=settings.sms_sender_name,
            timeout=settings.sms_http_timeout_seconds,
        )
    return None
