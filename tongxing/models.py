"""Imports every package's SQL models so that ``Base.metadata`` describes the whole schema."""

from admin import models as admin_models
from audit import models as audit_models
from core import models as core_models
from core.database import Base
from idp import models as idp_models
from keys import models as keys_models
from seal import models as seal_models

metadata = Base.metadata

__all__ = [
    "admin_models",
    "audit_models",
    "core_models",
    "idp_models",
    "keys_models",
    "metadata",
    "seal_models",
]
