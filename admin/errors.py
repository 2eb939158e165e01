"""Every refusal of the rule book, one class per stable problem type (RFC 9457).

The ``kind`` of each class is part of the API (``urn:tongxing:problem:<kind>``); the CLI
prints the ``detail`` as its one-line error. Nothing of a refused act is stored, except the
record of a refusal for lack of a role (see ``admin.service.Administration.acting``).
"""

from __future__ import annotations

from core.errors import Refusal


class AdminError(Refusal):
    """An administrative act the rule book refuses."""

    kind = "admin-error"
    status = 400
    title = "Refused"


class Forbidden(AdminError):
    """The actor lacks the role the act needs (recorded in the audit log)."""

    kind, status, title = "admin-forbidden", 403, "Your role does not allow this"


class SecondPersonNeeded(AdminError):
    """Four eyes: the act must be done by someone other than who started it."""

    kind, status, title = "second-person-needed", 403, "Another person must do this"


class RoleConflict(AdminError):
    """三权分立: nobody holds two of the system, security and audit administrator roles."""

    kind, status, title = "role-conflict", 409, "Nobody holds two administrator roles"


class NotFound(AdminError):
    kind, status, title = "not-found", 404, "There is no such thing"


class Conflict(AdminError):
    """The act does not fit the current state (already decided, already revoked, ...)."""

    kind, status, title = "admin-conflict", 409, "Not possible in the current state"


class NoDeletionPending(Conflict):
    """The person has not asked for their account to be deleted (or it is done already)."""

    kind, title = "no-deletion-pending", "No deletion is pending"


class Invalid(AdminError):
    """The request is well-formed but its content is refused (bad value, weak secret...)."""

    kind, status, title = "invalid-admin-request", 422, "The request cannot be carried out"


class PreconditionRequired(AdminError):
    """RFC 6585 §3: updates must say which version they change (If-Match)."""

    kind, status, title = "precondition-required", 428, "Send If-Match with the ETag you read"


class PreconditionFailed(AdminError):
    """RFC 9110 §13.1.1: the resource changed since the client read it."""

    kind, status, title = "precondition-failed", 412, "The resource has changed since you read it"
