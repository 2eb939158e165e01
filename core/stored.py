"""Records kept in the shared store as JSON, read back across versions of the service.

While a deployment rolls, processes of two versions share one store: a record written by the
newer one may carry a field the older one does not know. Reading passes such fields over
(a dataclass would refuse them and the request would fail); what the record means to this
version is in the fields it knows, and a field this version added has its default when an
older process wrote the record.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def read_record(cls: type[T], raw: bytes | str) -> T:
    """An instance of the dataclass ``cls`` from its stored JSON, unknown fields passed over."""
    known = _field_names(cls)
    data: dict[str, Any] = json.loads(raw)
    if data.keys() <= known:  # the usual case: written by this version
        return cls(**data)
    return cls(**{k: v for k, v in data.items() if k in known})


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    # Read on every request (the SSO session): the names are worked out once per class.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        assert is_dataclass(cls)
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names
