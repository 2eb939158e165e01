"""The administration service: the transaction every administrative act runs in, and the
record of refused attempts.

Every act (from the HTTP API, the console or the CLI) is a function of this package taking
an :class:`Administration` and an :class:`~admin.actors.Actor`; it checks its rule with
``admin.policy``, changes the state and records an audit event naming the actor, all in one
transaction. A refusal for lack of role or for four eyes is itself an audit event, recorded
in a transaction of its own (the refused change is rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from admin.actors import Actor
from admin.errors import Forbidden, SecondPersonNeeded
from core.database import Database
from core.events import EventRecorder
from core.settings import Settings
from idp.runtime import IdentityProvider
from keys.data_keys import DataKeys
from keys.runtime import KeyServices

log = logging.getLogger("tongxing.admin")


@dataclass
class Administration:
    """What administrative acts need: the database, the audit log, keys and settings, and the
    identity provider whose sessions and grants some acts end (e.g. a reset of factors)."""

    settings: Settings
    database: Database
    events: EventRecorder
    keys: KeyServices
    data_keys: DataKeys
    identity: IdentityProvider

    @contextmanager
    def acting(self, actor: Actor, action: str) -> Iterator[Session]:
        """The transaction of one act named ``action`` (e.g. ``seal.suspend``)."""
        try:
            with self.database.transaction() as session:
                yield session
        except (Forbidden, SecondPersonNeeded) as refusal:
            self._record_refusal(actor, action, refusal)
            raise

    @contextmanager
    def reading(self, actor: Actor, action: str) -> Iterator[Session]:
        """A read-only session for one look (e.g. ``audit.events``): a refused look is
        recorded like a refused act."""
        try:
            with self.database.reading() as session:
                yield session
        except (Forbidden, SecondPersonNeeded) as refusal:
            self._record_refusal(actor, action, refusal)
            raise

    def _record_refusal(
        self, actor: Actor, action: str, refusal: Forbidden | SecondPersonNeeded
    ) -> None:
        try:
            with self.database.transaction() as session:
                self.events.record(
                    session,
                    type="admin.refused",
                    actor=actor.label,
                    subject=action,
                    details={"reason": refusal.kind, "detail": refusal.detail},
                )
        except Exception:  # the refusal stands; a store outage must not turn it into a 500
            log.warning("could not record a refused administrative act", exc_info=True)
