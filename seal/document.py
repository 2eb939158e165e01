"""An uploaded PDF, checked before anything is sealed: size, header, structure, encryption.

Security contract: every way a PDF can fail to parse becomes :class:`MalformedPdf` (never a
500), encrypted files are refused (a seal must cover what everybody can read), and nothing
is parsed beyond the size limit. Page geometry is read from CropBox (else MediaBox), with
inheritance through the page tree (ISO 32000-1 §7.7.3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from seal.errors import EncryptedPdf, MalformedPdf, NotPdf, PageOutOfRange, PdfTooLarge

Box = tuple[float, float, float, float]


@dataclass
class SignatureField:
    """A signature field of the document."""

    name: str
    filled: bool
    page: int | None
    box: Box | None


@dataclass
class Document:
    """A parsed, unencrypted PDF."""

    data: bytes
    reader: PdfFileReader
    page_count: int
    signature_count: int

    def page_box(self, page: int) -> Box:
        """The visible area of ``page`` (0-based) in user-space points."""
        if not 0 <= page < self.page_count:
            raise PageOutOfRange(
                f"page {page + 1} does not exist; the document has {self.page_count} page(s)",
                page_count=self.page_count,
            )
        try:
            ref, _ = self.reader.find_page_for_modification(page)
            node: Any = ref.get_object()
            for _ in range(64):  # inherited attributes: walk up, but never forever
                for name in ("/CropBox", "/MediaBox"):
                    if name in node:
                        x0, y0, x1, y1 = (float(v) for v in node[name])
                        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
                if "/Parent" not in node:
                    break
                node = node["/Parent"]
        except PageOutOfRange:
            raise
        except Exception as exc:
            raise MalformedPdf(f"page {page + 1} cannot be read: {exc}") from None
        raise MalformedPdf(f"page {page + 1} has no MediaBox")

    def signature_fields(self) -> list[SignatureField]:
        """The signature fields, filled or not."""
        found = []
        try:
            pages = {
                self.reader.find_page_for_modification(i)[0].reference: i
                for i in range(min(self.page_count, 500))
            }
            for name, value, ref in fields.enumerate_sig_fields(self.reader, filled_status=None):
                widget: Any = ref.get_object()
                if "/Rect" not in widget and "/Kids" in widget:
                    widget = widget["/Kids"][0].get_object()
                box = None
                if "/Rect" in widget:
                    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
                    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
                page_ref = widget.raw_get("/P") if "/P" in widget else None
                page = (
                    pages.get(page_ref.reference)
                    if isinstance(page_ref, generic.IndirectObject)
                    else None
                )
                found.append(
                    SignatureField(name=name, filled=value is not None, page=page, box=box)
                )
        except Exception as exc:
            raise MalformedPdf(f"the form fields cannot be read: {exc}") from None
        return found


def read_pdf(data: bytes, *, max_bytes: int) -> PdfFileReader:
    """A reader for ``data``, or the :class:`SealError` saying why it cannot be read."""
    if len(data) > max_bytes:
        raise PdfTooLarge(
            f"the PDF is {len(data)} bytes; the limit is {max_bytes}", limit_bytes=max_bytes
        )
    # ISO 32000-1 §7.5.2 puts the header first; readers tolerate junk in the first 1 KiB.
    if b"%PDF-" not in data[:1024]:
        raise NotPdf("the upload does not start with a PDF header (%PDF-)")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        encrypted = reader.encrypted
    except Exception as exc:
        raise MalformedPdf(f"the PDF structure cannot be read: {_short(exc)}") from None
    if encrypted:
        raise EncryptedPdf("the PDF is encrypted; send the unencrypted document")
    return reader


def open_pdf(data: bytes, *, max_bytes: int) -> Document:
    """Parse ``data`` as a PDF that can be sealed, or raise a :class:`SealError`."""
    reader = read_pdf(data, max_bytes=max_bytes)
    try:
        count = reader.root["/Pages"]["/Count"]
        if not isinstance(count, int) or count < 1:
            raise ValueError("the page tree has no pages")
        reader.find_page_for_modification(count - 1)  # the page tree is walkable
        # The writer updates the document information dictionary (ModDate) when it exists.
        info = reader.trailer_view.get("/Info")
        if info is not None and not isinstance(info.get_object(), generic.DictionaryObject):
            raise ValueError("the document information (/Info) is not a dictionary")
        _check_form_fields(reader)
        signatures = len(reader.embedded_signatures)
    except Exception as exc:
        raise MalformedPdf(f"the PDF structure cannot be read: {_short(exc)}") from None
    return Document(data=data, reader=reader, page_count=count, signature_count=signatures)


def _check_form_fields(reader: PdfFileReader) -> None:
    """The form's field list, which the writer walks to add our signature field, holds only
    dictionaries (a damaged reference resolves to null and would crash the writer)."""
    form = reader.root.get("/AcroForm")
    if form is None:
        return
    form = form.get_object()
    if not isinstance(form, generic.DictionaryObject):
        raise ValueError("the interactive form (/AcroForm) is not a dictionary")
    fields = form.get("/Fields")
    if fields is None:
        return
    fields = fields.get_object()
    if not isinstance(fields, generic.ArrayObject):
        raise ValueError("the form's field list (/Fields) is not an array")
    for field in fields:
        if not isinstance(field.get_object(), generic.DictionaryObject):
            raise ValueError("the form's field list holds something that is not a field")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
