"""The per-process ``keys`` services (custody + hierarchy) and the start-up/init procedures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.database import Database
from core.events import EventRecorder
from keys.custody import KeyCustody
from keys.hierarchy import Hierarchy, InitReport
from keys.published import PublishedKeySet


@dataclass
class KeyServices:
    """What the ``keys`` routers and other packages use to reach keys."""

    custody: KeyCustody
    hierarchy: Hierarchy
    events: EventRecorder
    published: PublishedKeySet = field(init=False)

    def __post_init__(self) -> None:
        self.published = PublishedKeySet(
            custody=self.custody, database=self.database, retention=self.token_key_retention
        )

    @property
    def database(self) -> Database:
        return self.custody.database

    @property
    def token_key_retention(self) -> timedelta:
        return timedelta(hours=self.custody.settings.token_key_retention_hours)

    def start(self, *, initialise: bool) -> None:
        """Open custody (checking the KEK); with ``initialise``, create what is missing.

        Raises ``CustodyError`` with a one-line reason when custody cannot be opened.
        """
        if initialise:
            self.initialise(actor="system:demo")
        else:
            self.custody.open(create=False)
        if self.custody.settings.hsm_purposes:
            self.custody.store("pkcs11")  # fail at start, not at the first signature

    def initialise(self, *, actor: str) -> InitReport:
        """Create the KEK parameters and the missing parts of the hierarchy (idempotent)."""
        self.custody.open(create=True)
        with self.database.transaction() as session:
            return self.hierarchy.init(session, actor=actor)
