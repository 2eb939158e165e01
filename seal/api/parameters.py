"""The parameters of one sealing, as a form (``/sign``) or a JSON item (``/batch``)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seal.errors import InvalidSealRequest
from seal.placement import DEFAULT_DIAMETER_MM, PlacementRequest
from seal.sealing import SealingRequest

MM = 72 / 25.4


class SealParameters(BaseModel):
    """One document's sealing parameters (pages count from 1; x, y in points from the
    bottom-left corner; the seal is centred on the point or anchor)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seal_id: str = Field(min_length=1, max_length=32)
    page: int | None = Field(default=None, ge=1, le=100_000)
    x: float | None = None
    y: float | None = None
    anchor: str | None = Field(default=None, min_length=1, max_length=100)
    field: str | None = Field(default=None, min_length=1, max_length=128)
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-T"
    reason: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    document_type: str | None = Field(default=None, max_length=64, pattern=r"^[\w.:-]+$")
    size_mm: float = Field(default=DEFAULT_DIAMETER_MM, ge=20, le=60)
    cross_page: bool = False
    qr: bool = True
    certify: bool = False

    @field_validator("x", "y")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    def to_request(self) -> SealingRequest:
        """The domain request."""
        return SealingRequest(
            seal_id=self.seal_id,
            placement=PlacementRequest(
                page=self.page,
                x=self.x,
                y=self.y,
                anchor=self.anchor,
                field=self.field,
                diameter=self.size_mm * MM,
            ),
            level=self.level,
            reason=self.reason,
            location=self.location,
            document_type=self.document_type,
            cross_page=self.cross_page,
            qr=self.qr,
            certify=self.certify,
        )


def parse(values: dict[str, object]) -> SealParameters:
    """Validated parameters, or :class:`InvalidSealRequest` listing what is wrong."""
    try:
        return SealParameters.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        raise InvalidSealRequest(
            "the sealing parameters are not valid: "
            + "; ".join(f"{'.'.join(e['location']) or 'item'}: {e['message']}" for e in errors),
            errors=errors,
        ) from None
