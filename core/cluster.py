"""Cluster membership: each app process registers in SQL and keeps a heartbeat in the store.

The SQL row says which processes have served this deployment; the heartbeat key (with a TTL)
says which are alive now, so an instance that crashed without deregistering shows as not
live once its heartbeat expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import repository
from core.clock import as_utc
from core.database import Database
from core.models import AppInstance
from core.store import Store

HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TTL = 3 * HEARTBEAT_SECONDS
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class InstanceView:
    """An instance as reported by the ops API."""

    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    stopped_at: datetime | None
    live: bool


class Membership:
    """This process's membership in the cluster."""

    def __init__(self, *, database: Database, store: Store, version: str) -> None:
        self.database = database
        self.store = store
        self.version = version
        self.instance_id = uuid.uuid4().hex

    def _heartbeat_key(self, instance_id: str) -> str:
        return self.store.key("core", "instance", instance_id)

    def join(self) -> None:
        """Register this process and send the first heartbeat."""
        with self.database.transaction() as session:
            repository.add_instance(
                session,
                AppInstance(
                    id=self.instance_id,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    version=self.version,
                    started_at=datetime.now(UTC),
                ),
            )
        self.heartbeat()

    def heartbeat(self) -> None:
        """Say this process is alive for the next ``HEARTBEAT_TTL`` seconds."""
        self.store.set(self._heartbeat_key(self.instance_id), b"1", ttl=HEARTBEAT_TTL)

    def leave(self) -> None:
        """Deregister on clean shutdown."""
        self.store.delete(self._heartbeat_key(self.instance_id))
        with self.database.transaction() as session:
            repository.mark_instance_stopped(
                session, instance_id=self.instance_id, when=datetime.now(UTC)
            )

    def members(self) -> list[InstanceView]:
        """Instances running or recently stopped, with whether each is alive now."""
        with self.database.reading() as session:
            rows = repository.recent_instances(session, since=datetime.now(UTC) - RECENT)
        return [
            InstanceView(
                id=row.id,
                hostname=row.hostname,
                pid=row.pid,
                version=row.version,
                started_at=as_utc(row.started_at),
                stopped_at=as_utc(row.stopped_at) if row.stopped_at else None,
                live=row.stopped_at is None
                and self.store.get(self._heartbeat_key(row.id)) is not None,
            )
            for row in rows
        ]
