"""The id of the request being served, set by ``core.edge``, for log lines and problems."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("tongxing_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served on this task, if any."""
    return request_id_var.get()
