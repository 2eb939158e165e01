"""Telling comments apart from other changes made after sealing.

pyHanko's difference analysis files every annotation added after a signature under "other
modifications" (its rules only explain widgets and DSS updates). An auditor needs to know
whether somebody added a comment or altered the sealed content, so this check recognises
the first case exactly: every object the later revisions overwrite is a page whose only
change is a longer ``/Annots`` (or an ``/Annots`` array that only grew), and everything
added there is a non-widget annotation. Anything else is not a comment.
"""

from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader


def _refs(value: Any) -> list[Any]:
    items = value.get_object() if isinstance(value, generic.IndirectObject) else value
    if not isinstance(items, generic.ArrayObject):
        return []
    return [item.reference for item in items if isinstance(item, generic.IndirectObject)]


def _is_comment(reader: PdfFileReader, reference: Any) -> bool:
    annotation = reader.get_object(reference)
    return (
        isinstance(annotation, generic.DictionaryObject)
        and not isinstance(annotation, generic.StreamObject)  # content, not a comment
        and annotation.get("/Type", "/Annot") == "/Annot"
        and "/Rect" in annotation
        and annotation.get("/Subtype") not in (None, "/Widget")
    )


def _only_grew(reader: PdfFileReader, old: list[Any], new: list[Any]) -> bool:
    added = [ref for ref in new if ref not in old]
    return all(ref in new for ref in old) and all(_is_comment(reader, ref) for ref in added)


def _annotation_arrays(reader: PdfFileReader) -> set[Any]:
    """The indirect ``/Annots`` arrays of the document's pages (as they are now)."""
    found = set()
    count = int(reader.root["/Pages"]["/Count"])
    for index in range(min(count, 2000)):
        page = reader.find_page_for_modification(index)[0].get_object()
        value = page.raw_get("/Annots") if "/Annots" in page else None
        if isinstance(value, generic.IndirectObject):
            found.add(value.reference)
    return found


def only_comments_added(reader: PdfFileReader, *, signed_revision: int) -> bool:
    """Whether the revisions after ``signed_revision`` only add comments to pages."""
    xrefs = reader.xrefs
    if signed_revision >= xrefs.total_revisions - 1:
        return False
    before = reader.get_historical_resolver(signed_revision)
    existed = xrefs.get_xref_container_info(signed_revision).size
    try:
        annotation_arrays = _annotation_arrays(reader)
        for revision in range(signed_revision + 1, xrefs.total_revisions):
            for ref in xrefs.explicit_refs_in_revision(revision):
                if ref.idnum >= existed:
                    continue  # a new object: judged where it is referenced
                old, new = before(ref), reader.get_object(ref)
                if isinstance(old, generic.DictionaryObject) and old.get("/Type") == "/Page":
                    if not isinstance(new, generic.DictionaryObject):
                        return False
                    others_old = {k: v for k, v in old.items() if k != "/Annots"}
                    others_new = {k: v for k, v in new.items() if k != "/Annots"}
                    if others_old != others_new:
                        return False
                    if not _only_grew(
                        reader,
                        _refs(old.raw_get("/Annots")) if "/Annots" in old else [],
                        _refs(new.raw_get("/Annots")) if "/Annots" in new else [],
                    ):
                        return False
                elif isinstance(old, generic.ArrayObject) and ref in annotation_arrays:
                    if not _only_grew(reader, _refs(old), _refs(new)):
                        return False
                else:
                    return False
    except Exception:  # anything unreadable is not "only comments"
        return False
    return True
