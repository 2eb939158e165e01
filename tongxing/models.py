"""Imports every package's SQL models so that ``Base.metadata`` describes the whole schema."""

from core import events as core_events
from core import models as core_models
from core.database import Base
from keys import models as keys_models

metadata = Base.metadata

__all__ = ["core_events", "core_models", "keys_models", "metadata"]
