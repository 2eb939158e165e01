"""The one object the composition root hangs on the app: each package's services, by type."""

from __future__ import annotations

from typing import TypeVar, cast

T = TypeVar("T")


class Runtime:
    """The long-lived services of one app process, one per type.

    Only the composition root (``tongxing``) builds it and puts it on ``app.state``; the
    packages below it cannot import the root, so each package's ``api/deps.py`` reads its
    own service by type (``runtime.get(IdentityProvider)``). A service that was never
    registered is a wiring mistake and fails loudly instead of returning ``None``.
    """

    def __init__(self, *services: object) -> None:
        self._by_type: dict[type, object] = {}
        for service in services:
            self.add(service)

    def add(self, service: object) -> None:
        """Register ``service`` under its own class (each class at most once)."""
        kind = type(service)
        if kind in self._by_type:
            raise ValueError(f"{kind.__qualname__} is registered twice")
        self._by_type[kind] = service

    def get(self, kind: type[T]) -> T:
        """The registered instance of ``kind`` (exactly that class, not a subclass)."""
        try:
            return cast(T, self._by_type[kind])
        except KeyError:
            raise LookupError(f"this app has no {kind.__qualname__}") from None
