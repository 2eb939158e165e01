"""The apps a person is connected to: a live grant, a remembered consent or a live sign-in,
first-party apps included (they skip the consent page but still hold grants)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from idp import consents, grants, repository


@dataclass(frozen=True)
class ConnectedApp:
    """One app and why it is connected."""

    client_id: str
    name: str
    consented: bool  # the person allowed it scopes (else a grant or a sign-in connects them)


def of_user(session: Session, user_id: str, *, signed_in: Iterable[str] = ()) -> list[ConnectedApp]:
    """The person's connected apps, by name; ``signed_in`` are the clients of the person's
    live SSO sessions (an app signed into whose code is not redeemed yet has no grant)."""
    consented = {consent.client_id for consent in consents.of_user(session, user_id)}
    live = {grant.client_id for grant in grants.of_user(session, user_id)}
    client_ids = consented | live | set(signed_in)
    found = []
    for client_id in client_ids:
        client = repository.client(session, client_id)
        name = client.name if client is not None else client_id
        found.append(ConnectedApp(client_id=client_id, name=name, consented=client_id in consented))
    return sorted(found, key=lambda app: (app.name, app.client_id))
