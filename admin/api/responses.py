"""OpenAPI response declarations shared by the admin routers."""

from __future__ import annotations

from core.api import responses
from core.api.responses import Responses

READ: Responses = {
    400: responses.problem("The request body cannot be read (kind bad-request)"),
    401: responses.problem("No valid admin token (kind token-required or invalid-token)"),
    403: responses.problem("Your role does not allow this (kind admin-forbidden)"),
    422: responses.problem("Invalid parameters"),
}
ACT: Responses = {
    **READ,
    404: responses.problem("There is no such thing (kind not-found)"),
    409: responses.problem("Not possible in the current state, or a second role"),
}
UPDATE: Responses = {
    **ACT,
    412: responses.problem("The resource changed since you read it (kind precondition-failed)"),
    428: responses.problem("If-Match is missing (kind precondition-required)"),
}
