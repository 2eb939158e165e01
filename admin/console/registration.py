"""The console's registration as a client of our own IdP (``tongxing-console``).

Security contract: the console is a public client (no secret to keep; PKCE S256 is enforced
at the authorization endpoint) whose only redirect URI is ``<issuer>/admin/callback`` and
whose only post-logout URI is ``<issuer>/admin/``; it may ask for every administrator scope,
and the IdP grants each only to a person holding that role (``idp.role_scopes``). It is
first-party (no consent page). The composition root ensures it at every start, in demo and
production mode; when the issuer moved, its URIs follow (audited), nothing else changes.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import clients as registry
from idp import repository
from keys.data_keys import DataKeys

CLIENT_ID = "tongxing-console"
NAME = "通行管理控制台 Tongxing console"
SCOPES = ("openid", "profile", "admin:system", "admin:security", "admin:audit", "org:admin")
PATH = "/admin"


def redirect_uri(issuer: str) -> str:
    """Where the IdP sends the console's authorization responses."""
    return f"{issuer}{PATH}/callback"


def home(issuer: str) -> str:
    """The console's front page (also where the IdP returns after sign-out)."""
    return f"{issuer}{PATH}/"


def ensure(session: Session, *, data_keys: DataKeys, events: EventRecorder, issuer: str) -> None:
    """Register the console if it is missing; point its URIs at ``issuer`` if they moved."""
    uris = {"redirect_uris": [redirect_uri(issuer)], "post_logout_redirect_uris": [home(issuer)]}
    existing = repository.client(session, CLIENT_ID)
    if existing is None:
        try:
            with session.begin_nested():
                registry.register(
                    session,
                    data_keys=data_keys,
                    events=events,
                    client_id=CLIENT_ID,
                    name=NAME,
                    grant_types=["authorization_code", "refresh_token"],
                    scopes=list(SCOPES),
                    actor="server:start",
                    auth_method="none",
                    first_party=True,
                    admin_signin=True,
                    redirect_uris=uris["redirect_uris"],
                    post_logout_redirect_uris=uris["post_logout_redirect_uris"],
                )
        except (registry.ClientError, IntegrityError):
            if repository.client(session, CLIENT_ID) is None:
                raise  # a real refusal (e.g. an http issuer that is not loopback)
            # else another process registered it at the same moment
        return
    if all(getattr(existing, name) == value for name, value in uris.items()):
        return
    for name, value in uris.items():
        setattr(existing, name, value)
    events.record(
        session,
        type="client.updated",
        actor="server:start",
        subject=CLIENT_ID,
        details={"reason": "the issuer changed", **uris},
    )
