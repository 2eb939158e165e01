"""Pending authorization requests while the person signs in, picks an organisation or consents.

Security contract: an interaction is bound to the browser that started it (its
``tx_browser`` id), so a link to someone else's interaction is useless; it lives in the
shared store (any app process can continue it) for at most 30 minutes; the stored request
is validated again on every resumption, so a client disabled meanwhile gets nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from core.store import Store
from core.stored import read_record

LIFETIME = 30 * 60


@dataclass
class Interaction:
    """What the browser asked for and what it has done since."""

    id: str
    browser: str
    params: dict[str, str]
    created_at: int
    # Steps done inside this interaction (prompt=login/consent/select_account need them).
    login_at: int | None = None
    organisation_chosen: bool = False
    consented: bool = False
    # A check of our own (not an app's request): after the step-up page the browser goes
    # back to this local path once idp.step_up.fresh_check is satisfied.
    return_to: str | None = None
    verified: bool = False  # a factor was proved inside this check
    # The factor page as the request's last decision left it, for the SSO session it was
    # decided for ({"sid", "methods", "target", "reached", "options", "proofing_short"}): the
    # page shows it without deciding again while that session is unchanged.
    factor_need: dict[str, Any] | None = None
    # A first factor proved here while the request needs more (idp.first_factor): the
    # session opens once the missing factor is proved ({"id", "user_id", "methods", "at",
    # "credential"}).
    first_factor: dict[str, Any] | None = None


class Interactions:
    """Stores interactions under ``tx:idp:interaction:<id>``."""

    def __init__(self, *, store: Store) -> None:
        self.store = store

    def _key(self, interaction_id: str) -> str:
        return self.store.key("idp", "interaction", interaction_id)

    def start(
        self,
        *,
        browser: str,
        params: dict[str, str],
        return_to: str | None = None,
    ) -> Interaction:
        """A new interaction for ``params`` in ``browser`` (or, with ``return_to``, a check
        of the session's strength for one of our own pages)."""
        interaction = Interaction(
            id=secrets.token_urlsafe(18),
            browser=browser,
            params=dict(params),
            created_at=int(time.time()),
            return_to=return_to,
        )
        self.save(interaction)
        return interaction

    def get(self, interaction_id: str | None, *, browser: str | None) -> Interaction | None:
        """The interaction, if it exists and belongs to ``browser``."""
        if not interaction_id or len(interaction_id) > 64 or not browser:
            return None
        raw = self.store.get(self._key(interaction_id))
        if raw is None:
            return None
        interaction = read_record(Interaction, raw)
        return interaction if secrets.compare_digest(interaction.browser, browser) else None

    def save(self, interaction: Interaction) -> None:
        """Store the interaction's progress (its lifetime counts from its start)."""
        remaining = interaction.created_at + LIFETIME - time.time()
        if remaining > 0:
            self.store.set(
                self._key(interaction.id), json.dumps(asdict(interaction)).encode(), ttl=remaining
            )

    def finish(self, interaction: Interaction) -> None:
        """Forget the interaction (its code was issued, or it ended in an error)."""
        self.store.delete(self._key(interaction.id))
