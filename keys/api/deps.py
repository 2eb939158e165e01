"""``Annotated`` dependency alias handing request handlers the process's key services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from keys.runtime import KeyServices


def get_key_services(request: Request) -> KeyServices:
    """The key services of the app serving this request."""
    services: KeyServices = request.app.state.keys
    return services


KeysDep = Annotated[KeyServices, Depends(get_key_services)]
