"""Where the seal goes: a point on a page, the centre of an anchor text, or an existing empty
signature field. Exactly one of the three must be given.

Coordinates are PDF user-space points from the bottom-left corner of the page; pages are
numbered from 1 in the API and from 0 inside. The seal is centred on the point or anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

from seal.document import Box, Document
from seal.errors import AnchorNotFound, FieldUnusable, InvalidPlacement

DEFAULT_DIAMETER_MM = 42.0  # the official seal of a legal person (GA 241 series): 40-42 mm


@dataclass(frozen=True)
class Placement:
    """A resolved placement: a new field at ``box`` on ``page``, or the existing ``field``."""

    page: int
    box: Box | None
    field: str | None


@dataclass(frozen=True)
class PlacementRequest:
    """What the caller asked for (API values: pages from 1)."""

    page: int | None = None
    x: float | None = None
    y: float | None = None
    anchor: str | None = None
    field: str | None = None
    diameter: float = DEFAULT_DIAMETER_MM * 72 / 25.4


def resolve(document: Document, request: PlacementRequest) -> Placement:
    """The placement for ``request`` in ``document``, or a precise refusal."""
    point = request.x is not None or request.y is not None
    modes = sum((point, request.anchor is not None, request.field is not None))
    if modes != 1:
        raise InvalidPlacement(
            "give exactly one placement: page + x + y, or anchor (optionally with page), or field"
        )
    if request.field is not None:
        return _existing_field(document, request.field)
    if request.anchor is not None:
        return _anchor(document, request)
    if request.x is None or request.y is None or request.page is None:
        raise InvalidPlacement("a point placement needs page, x and y")
    page = request.page - 1
    x0, y0, x1, y1 = document.page_box(page)
    if not (x0 <= request.x <= x1 and y0 <= request.y <= y1):
        raise InvalidPlacement(
            f"({request.x}, {request.y}) is outside page {request.page} "
            f"({x0:g} {y0:g} {x1:g} {y1:g})"
        )
    return Placement(page=page, box=_centred(request.x, request.y, request.diameter), field=None)


def _centred(x: float, y: float, diameter: float) -> Box:
    r = diameter / 2
    return (x - r, y - r, x + r, y + r)


def _anchor(document: Document, request: PlacementRequest) -> Placement:
    from seal.anchor import AnchorBudgetExceeded, find_anchor  # only needed for anchors

    text = (request.anchor or "").strip()
    if not text or len(text) > 100:
        raise InvalidPlacement("the anchor must be 1 to 100 characters of text")
    page = None
    if request.page is not None:
        page = request.page - 1
        document.page_box(page)  # range check
    try:
        found = find_anchor(document.data, text, page=page)
    except AnchorBudgetExceeded:
        raise InvalidPlacement(
            "the document is too complex to search for the anchor; place the seal by "
            "page and coordinates or in a signature field"
        ) from None
    except ValueError:
        found = None
    if found is None:
        where = f"page {request.page}" if request.page is not None else "any page"
        raise AnchorNotFound(f"the text {text!r} was not found on {where}", anchor=text)
    index, x0, y0, x1, y1 = found
    return Placement(
        page=index, box=_centred((x0 + x1) / 2, (y0 + y1) / 2, request.diameter), field=None
    )


def _existing_field(document: Document, name: str) -> Placement:
    for field in document.signature_fields():
        if field.name == name:
            if field.filled:
                raise FieldUnusable(f"the signature field {name!r} is already signed")
            if field.box is None or field.box[2] - field.box[0] < 1:
                raise FieldUnusable(f"the signature field {name!r} has no visible area")
            return Placement(page=field.page or 0, box=None, field=name)
    raise FieldUnusable(f"the document has no signature field {name!r}")
