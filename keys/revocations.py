"""Announcements of revoked grants through the shared store, so that every resource server
of every process refuses a revoked grant's access tokens (``gid`` claim) before they expire.

The identity provider announces (``idp.runtime.IdentityProvider.grant_revoked``) after the
revocation is committed; our resource servers that do not read the IdP's tables (the
sealing API) ask :func:`announced`. An announcement lives as long as an access token can
(the caller's ``ttl``). Not checked here: whether the grant is revoked in SQL (the IdP's
own endpoints read that too).
"""

from __future__ import annotations

from core.store import Store


def _key(store: Store, grant_id: str) -> str:
    return store.key("idp", "grant-revoked", grant_id)


def announce(store: Store, grant_id: str, *, ttl: int) -> None:
    """Tell every process that the grant is revoked."""
    store.set(_key(store, grant_id), b"1", ttl=ttl)


def announced(store: Store, grant_id: str) -> bool:
    """Whether a revocation of the grant was announced."""
    return store.get(_key(store, grant_id)) is not None
