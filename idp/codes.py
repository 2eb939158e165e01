"""Authorization codes (RFC 6749 §4.1.2): short-lived, single use, replay detected.

Security contract: a code is 256 random bits; the store keeps only its SHA-256 (as the key)
and what it grants. Redemption takes the record atomically (of two concurrent redeemers
exactly one gets it) and leaves a marker naming the grant the code created, so a replay —
sequential or concurrent — finds the marker and the caller revokes that grant
(RFC 6749 §4.1.2, OIDC conformance ``invalid_grant`` + revocation).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from core.store import Store
from core.stored import read_record

# How long a redeemed code's marker is kept to recognise replays.
REPLAY_WINDOW = 3600


@dataclass(frozen=True)
class CodeGrant:
    """What a code stands for."""

    grant_id: str
    client_id: str
    redirect_uri: str
    user_id: str
    sid: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str
    auth_time: int
    acr: str
    amr: list[str]
    organisation_id: str | None
    # The agent authorisation (idp.agents) the person acts for the organisation under.
    agent_authorisation_id: str | None = None


@dataclass(frozen=True)
class Redemption:
    """The outcome of presenting a code: its grant, or the grant of an earlier redemption."""

    grant: CodeGrant | None
    replayed_grant_id: str | None


class Codes:
    """Issues and redeems codes in the shared store."""

    def __init__(self, *, store: Store, lifetime: int) -> None:
        self.store = store
        self.lifetime = lifetime

    def _keys(self, code: str) -> tuple[str, str]:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return self.store.key("idp", "code", digest), self.store.key("idp", "code-used", digest)

    def issue(self, grant: CodeGrant) -> str:
        """A new code for ``grant``."""
        code = secrets.token_urlsafe(32)
        key, _ = self._keys(code)
        self.store.set(key, json.dumps(asdict(grant)).encode(), ttl=self.lifetime)
        return code

    def redeem(self, code: str) -> Redemption:
        """Take the code's grant (once); a later attempt sees the replay."""
        if not code or len(code) > 128:
            return Redemption(grant=None, replayed_grant_id=None)
        key, used_key = self._keys(code)
        raw = self.store.take(key)
        if raw is None:
            marker = self.store.get(used_key)
            return Redemption(grant=None, replayed_grant_id=marker.decode() if marker else None)
        grant = read_record(CodeGrant, raw)
        self.store.set(used_key, grant.grant_id.encode(), ttl=REPLAY_WINDOW)
        return Redemption(grant=grant, replayed_grant_id=None)
