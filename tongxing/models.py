"""Imports every package's SQL models so that ``Base.metadata`` describes the whole schema."""

from core import models as core_models
from core.database import Base

metadata = Base.metadata

__all__ = ["core_models", "metadata"]
