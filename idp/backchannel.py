"""Posting logout tokens to clients (Back-Channel Logout §2.5), with retries.

Each delivery is tried at once, then after 1 s and 4 s; any 2xx answer counts as delivered
(§2.8), anything else (error status, timeout, refused connection) is recorded with the
reason and retried. Redirects are not followed. Attempts run after the response has been
sent, so a slow client never delays a person's logout. Deliveries a stopped process left
pending are picked up by a periodic sweep on any process (re-signed: logout tokens live two
minutes) until six attempts in all have failed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
from starlette.concurrency import run_in_threadpool

from idp import logout
from idp.runtime import IdentityProvider

DELAYS = (0.0, 1.0, 4.0)
# A delivery nobody has touched for this long was abandoned by a stopped process.
STALE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 6
SWEEP_SECONDS = 60
TIMEOUT = 5.0
log = logging.getLogger("tongxing.idp.backchannel")


async def deliver(
    idp: IdentityProvider,
    deliveries: list[logout.Delivery],
    *,
    delays: tuple[float, ...] | None = None,
    final: bool = True,
) -> None:
    """Deliver every logout token, concurrently, over ``idp.backchannel_transport``, after
    ``delays`` (default: the IdP's, else :data:`DELAYS`); with ``final``, a delivery still
    failing after the last attempt is marked failed (otherwise it stays pending for the
    sweep)."""
    if not deliveries:
        return
    schedule = delays or idp.backchannel_delays or DELAYS
    async with httpx.AsyncClient(
        transport=idp.backchannel_transport, timeout=TIMEOUT, follow_redirects=False
    ) as http:
        await asyncio.gather(*(_one(idp, http, d, schedule, final) for d in deliveries))


async def retry_stale(idp: IdentityProvider) -> int:
    """One sweep: deliveries a stopped process left pending get another attempt (up to
    :data:`MAX_ATTEMPTS` in all). Returns how many were tried."""
    claimed = await run_in_threadpool(
        logout.claim_stale, idp, older_than=STALE_AFTER, max_attempts=MAX_ATTEMPTS
    )
    await deliver(idp, claimed, delays=(0.0,), final=False)
    return len(claimed)


async def _one(
    idp: IdentityProvider,
    http: httpx.AsyncClient,
    delivery: logout.Delivery,
    delays: tuple[float, ...],
    final: bool,
) -> None:
    for delay in delays:
        await asyncio.sleep(delay)
        error: str | None = None
        try:
            response = await http.post(
                delivery.uri,
                data={delivery.field: delivery.token},
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
    if final:  # otherwise it stays pending: the sweep tries again until MAX_ATTEMPTS
        await run_in_threadpool(logout.give_up, idp, delivery.id)
