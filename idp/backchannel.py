"""Posting logout tokens to clients (Back-Channel Logout §2.5), with retries.

Each delivery is tried at once, then after 1 s and 4 s; any 2xx answer counts as delivered
(§2.8), anything else (error status, timeout, refused connection) is recorded with the
reason and retried. Redirects are not followed. Attempts run after the response has been
sent, so a slow client never delays a person's logout.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from starlette.concurrency import run_in_threadpool

from idp import logout
from idp.runtime import IdentityProvider

DELAYS = (0.0, 1.0, 4.0)
TIMEOUT = 5.0
log = logging.getLogger("tongxing.idp.backchannel")


async def deliver(
    idp: IdentityProvider,
    deliveries: list[logout.Delivery],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    delays: tuple[float, ...] = DELAYS,
) -> None:
    """Deliver every logout token, concurrently."""
    if not deliveries:
        return
    async with httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT, follow_redirects=False
    ) as http:
        await asyncio.gather(*(_one(idp, http, d, delays) for d in deliveries))


async def _one(
    idp: IdentityProvider,
    http: httpx.AsyncClient,
    delivery: logout.Delivery,
    delays: tuple[float, ...],
) -> None:
    for delay in delays:
        await asyncio.sleep(delay)
        error: str | None = None
        try:
            response = await http.post(
                delivery.uri,
                data={"logout_token": delivery.token},
                headers={"Cache-Control": "no-cache"},
            )
            if 200 <= response.status_code < 300:
                await run_in_threadpool(
                    logout.record_attempt, idp, delivery.id, delivered=True, error=None
                )
                return
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        log.warning(
            "back-channel logout delivery failed",
            extra={"client_id": delivery.client_id, "error": error},
        )
        await run_in_threadpool(
            logout.record_attempt, idp, delivery.id, delivered=False, error=error
        )
    await run_in_threadpool(logout.give_up, idp, delivery.id)
