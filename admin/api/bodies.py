"""The base of every admin request body: validated as the JSON says, without coercion.

Pydantic's lax mode would read ``"true"`` or ``1`` as a boolean and ``"3"`` as a number;
the OpenAPI document says ``boolean`` and ``integer``, and an administrative act must not
guess what a client meant. Times stay lax (``strict=False`` on the field): JSON carries
them as RFC 3339 text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictBody(BaseModel):
    """A request body with JSON types taken literally."""

    model_config = ConfigDict(strict=True)
