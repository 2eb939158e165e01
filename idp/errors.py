"""OAuth 2.0 / OpenID Connect protocol errors, one class per error code (RFC 6749 §5.2).

They render as the spec's JSON error body (never problem+json) with ``Cache-Control:
no-store``; ``invalid_client`` carries a ``WWW-Authenticate`` challenge when the client
tried HTTP Basic authentication (§5.2).
"""

from __future__ import annotations


class OAuthError(Exception):
    """A protocol error with its code, description and HTTP status."""

    error = "server_error"
    status = 400

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        """The JSON error response of RFC 6749 §5.2."""
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested resource is unknown or not allowed."""

    error = "invalid_target"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class AccessDenied(OAuthError):
    error = "access_denied"


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: the server cannot handle the request now (a dependency is down)."""

    error = "temporarily_unavailable"
    status = 503


class LoginRequired(OAuthError):
    """OIDC Core §3.1.2.6: ``prompt=none`` but nobody is signed in."""

    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class UnmetAuthenticationRequirements(OAuthError):
    """The level the app asked for cannot be reached by this person (OpenID Connect Core
    Unmet Authentication Requirements 1.0)."""

    error = "unmet_authentication_requirements"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class UntrustedRedirect(Exception):
    """The client or redirect URI cannot be trusted: the error is shown on our own page and
    never sent to the (unverified) redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description
