"""Keeping personal data no longer than needed (个人信息保护法 §19, §47): the purge of sign-in
history past ``sign_in_retention_days`` and of accounts whose deletion grace period is over,
run by ``tongxing maintenance purge`` and periodically by every app process.

Every step is idempotent (a delete by age; an anonymisation under a row lock that clears the
request it acts on), so several processes purging at once remove each row once and record
each ``account.deleted`` once.

What is not purged: the audit log. It is append-only and tamper-evident (a deleted entry
breaks every later checkpoint) and is the legal record of who did what — sign-ins and
step-ups (``login.*`` events) keep the source address in their details for the audit log's
own retention, decided with the log, not here. That is a known tension with the history's
shorter retention, noted for the operators: the audit log holds addresses, never the
history's device summaries, and never secrets.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from core.database import Database
from core.events import EventRecorder
from core.readiness import NotReady
from core.settings import Settings
from idp import account_deletion, history

log = logging.getLogger("tongxing.idp.retention")
# The actor of purges the app processes run by themselves.
PERIODIC_ACTOR = "system:retention"


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    sign_ins: int
    accounts: int


def purge(
    *,
    database: Database,
    events: EventRecorder,
    settings: Settings,
    actor: str,
    now: datetime | None = None,
) -> Purged:
    """Delete history past its retention and anonymise accounts past their grace period."""
    moment = now or datetime.now(UTC)
    with database.transaction() as session:
        sign_ins = history.purge(
            session, older_than_days=settings.sign_in_retention_days, now=moment
        )
    grace = settings.account_deletion_grace_days
    accounts = 0
    while True:
        with database.reading() as session:
            batch = account_deletion.due(session, grace_days=grace, now=moment)
        done = 0
        for user_id in batch:
            with database.transaction() as session:
                if account_deletion.anonymise(
                    session,
                    events=events,
                    user_id=user_id,
                    grace_days=grace,
                    now=moment,
                    actor=actor,
                ):
                    done += 1
        accounts += done
        if done == 0:  # nothing left, or only accounts another process or a role holds
            break
    return Purged(sign_ins=sign_ins, accounts=accounts)


async def run_periodically(
    *, database: Database, events: EventRecorder, settings: Settings
) -> None:
    """The app process's purge, every ``privacy_purge_seconds`` (cancel to stop)."""
    while True:
        await asyncio.sleep(settings.privacy_purge_seconds)
        try:
            purged = await run_in_threadpool(
                lambda: purge(
                    database=database, events=events, settings=settings, actor=PERIODIC_ACTOR
                )
            )
            if purged.sign_ins or purged.accounts:
                log.info(
                    "personal data purged",
                    extra={"sign_ins": purged.sign_ins, "accounts": purged.accounts},
                )
        except NotReady as exc:  # an outage: logged where it is detected, once
            log.debug("periodic privacy purge failed", extra={"reason": str(exc)})
        except Exception:
            log.warning("periodic privacy purge failed", exc_info=True)
