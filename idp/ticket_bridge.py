"""Ticket-style upstream platforms (provincial platforms that do not speak OpenID Connect):
login redirect with a service URL -> ticket -> server-side exchange for a token -> user info
-> logout, and 法人账号切换 (the person switches to an enterprise account at the platform).

Each province's variant is configuration (an upstream registered with protocol
``ticket:<mapping>``: base URL, app id, app secret, claim and level maps) plus one mapping
class implementing :class:`TicketPlatform`, named in :data:`MAPPINGS`.

Security contract of every mapping: the ticket is redeemed server-side, over the upstream's
base URL only, with the app secret (never sent to the browser, never logged), for the exact
service URL the login was sent with (so a ticket issued for another service is refused by
the platform); answers are at most 64 KiB, five-second timeout, no redirects; anything but
the documented success shape raises :class:`BridgeError`. State, single use and the
browser binding are :mod:`idp.federation`'s, as for OpenID upstreams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

MAX_ANSWER = 64 * 1024
TIMEOUT = 5.0


class BridgeError(RuntimeError):
    """The platform refused or answered what we cannot use (no secret in the message)."""


@dataclass(frozen=True)
class BridgedUser:
    """Who the platform says signed in: its stable id, claims by our names (``name``,
    ``national_id``, ``phone``, ``acr``) and the enterprise account switched to, if any."""

    subject: str
    claims: dict[str, str] = field(default_factory=dict)
    organisation_uscc: str | None = None


class TicketPlatform(Protocol):
    """One province's ticket protocol."""

    def login_url(self, *, service: str, switch: bool = False) -> str:
        """Where the browser signs in (``switch``: picks an enterprise account) and then
        returns to ``service`` with a ticket."""

    def redeem(self, *, ticket: str, service: str) -> str:
        """The access token the ticket is worth (server-side)."""

    def user_info(self, *, token: str) -> BridgedUser:
        """The signed-in person (server-side)."""

    def logout_url(self, *, service: str) -> str:
        """Where the browser signs out at the platform and then returns to ``service``."""


class JsonTicketPlatform:
    """The JSON variant (the development simulator speaks it; several provinces' platforms
    are close to it): ``GET {base}/login?appId=&service=`` (``/switchCorp`` to switch),
    ``POST {base}/api/ticket/validate`` (form ``appId``, ``appSecret``, ``ticket``,
    ``service``) -> ``{"code": 0, "data": {"token": ...}}``, ``GET {base}/api/user/info``
    (header ``token``) -> ``{"code": 0, "data": {"userId", "userName", "idCardNo",
    "mobile", "authLevel", "corpCreditCode"}}``, ``GET {base}/logout?service=``."""

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.transport = transport

    def login_url(self, *, service: str, switch: bool = False) -> str:
        path = "/switchCorp" if switch else "/login"
        return f"{self.base_url}{path}?{urlencode({'appId': self.app_id, 'service': service})}"

    def logout_url(self, *, service: str) -> str:
        return f"{self.base_url}/logout?{urlencode({'service': service})}"

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200 or len(response.content) > MAX_ANSWER:
            raise BridgeError(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise BridgeError("not JSON") from None
        if not isinstance(body, dict) or body.get("code") != 0:
            code = body.get("code") if isinstance(body, dict) else None
            raise BridgeError(f"refused (code {code!r})")
        data = body.get("data")
        if not isinstance(data, dict):
            raise BridgeError("no data")
        return data

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport, timeout=TIMEOUT, follow_redirects=False)

    def redeem(self, *, ticket: str, service: str) -> str:
        form = {"appId": self.app_id, "appSecret": self._secret, "ticket": ticket}
        try:
            with self._client() as http:
                answer = http.post(
                    f"{self.base_url}/api/ticket/validate", data={**form, "service": service}
                )
        except httpx.HTTPError as exc:
            raise BridgeError(type(exc).__name__) from None
        token = self._data(answer).get("token")
        if not isinstance(token, str) or not 0 < len(token) <= 1024:
            raise BridgeError("no token")
        return token

    def user_info(self, *, token: str) -> BridgedUser:
        try:
            with self._client() as http:
                answer = http.get(f"{self.base_url}/api/user/info", headers={"token": token})
        except httpx.HTTPError as exc:
            raise BridgeError(type(exc).__name__) from None
        data = self._data(answer)
        subject = data.get("userId")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise BridgeError("no userId")
        names = {
            "userName": "name",
            "idCardNo": "national_id",
            "mobile": "phone",
            "authLevel": "acr",
        }
        claims = {ours: str(data[theirs]) for theirs, ours in names.items() if data.get(theirs)}
        corp = data.get("corpCreditCode")
        return BridgedUser(
            subject=subject,
            claims=claims,
            organisation_uscc=corp if isinstance(corp, str) else None,
        )


MAPPINGS: dict[str, type[JsonTicketPlatform]] = {"json-v1": JsonTicketPlatform}
