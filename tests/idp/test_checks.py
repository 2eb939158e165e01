"""Authorization-request rules: which failures stay on our page, which go back to the app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from idp import checks
from idp.checks import max_age
from idp.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedResponseType,
    UntrustedRedirect,
)
from idp.models import Client

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def _client(**overrides: Any) -> Client:
    values: dict[str, Any] = {
        "client_id": "permits",
        "name": "permits",
        "auth_method": "client_secret_basic",
        "secret_digest": b"x",
        "jwks_uri": None,
        "redirect_uris": ["https://permits.example/cb"],
        "post_logout_redirect_uris": [],
        "backchannel_logout_uri": None,
        "grant_types": ["authorization_code"],
        "scopes": ["openid", "profile"],
        "pairwise_sector": None,
        "extra": {},
        "disabled": False,
        "created_at": datetime.now(UTC),
    }
    values.update(overrides)
    return Client(**values)


def _params(**overrides: str) -> dict[str, str]:
    values = {
        "client_id": "permits",
        "redirect_uri": "https://permits.example/cb",
        "response_type": "code",
        "scope": "openid profile email",
        "state": "xyz",
        "nonce": "n1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v != "<absent>"}


def _run(params: dict[str, str], client: Client | None = None) -> checks.AuthorizationRequest:
    known = client or _client()
    target = checks.verify_target(
        params, find_client=lambda cid: known if cid == known.client_id else None
    )
    return checks.validate(params, target=target)


def test_a_good_request() -> None:
    request = _run(_params(prompt="login", max_age="60", unknown_parameter="ignored"))
    assert request.scopes == ("openid", "profile")  # email is not registered: dropped
    assert request.prompt == frozenset({"login"}) and request.max_age == 60
    assert request.state == "xyz" and request.nonce == "n1"


@pytest.mark.parametrize(
    ("params", "client"),
    [
        (_params(client_id="<absent>"), None),
        (_params(client_id="unknown"), None),
        (_params(), _client(disabled=True)),
        (_params(), _client(grant_types=["client_credentials"])),
        (_params(redirect_uri="<absent>"), None),
        (_params(redirect_uri="https://permits.example/cb/"), None),
        (_params(redirect_uri="https://permits.example/cb?x=1"), None),
        (_params(redirect_uri="HTTPS://permits.example/cb"), None),
        (_params(redirect_uri="https://evil.example/cb"), None),
    ],
)
def test_untrusted_targets_never_redirect(params: dict[str, str], client: Client | None) -> None:
    with pytest.raises(UntrustedRedirect):
        _run(params, client)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (_params(request="eyJ..."), RequestNotSupported),
        (_params(request_uri="https://x"), RequestUriNotSupported),
        (_params(response_type="<absent>"), InvalidRequest),
        (_params(response_type="token"), UnsupportedResponseType),
        (_params(response_type="code id_token"), UnsupportedResponseType),
        (_params(response_mode="fragment"), InvalidRequest),
        (_params(scope="profile"), InvalidScope),
        (_params(code_challenge="<absent>"), InvalidRequest),
        (_params(code_challenge_method="plain"), InvalidRequest),
        (_params(prompt="none login"), InvalidRequest),
        (_params(prompt="sometimes"), InvalidRequest),
        (_params(max_age="-1"), InvalidRequest),
        (_params(max_age="١٢"), InvalidRequest),
    ],
)
def test_errors_that_go_back_to_the_app(params: dict[str, str], error: type[OAuthError]) -> None:
    with pytest.raises(error):
        _run(params)


def test_max_age_forces_a_new_sign_in() -> None:
    assert max_age.login_needed(max_age=1, auth_time=100, now=102)
    assert not max_age.login_needed(max_age=1, auth_time=100, now=101)
    assert not max_age.login_needed(max_age=None, auth_time=0, now=10**9)
