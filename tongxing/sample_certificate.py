"""Deterministic, hand-written PDF 1.7 sample certificates, in an embedded CJK font subset."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from seal.fonts import find_cjk_font, preferred_face_index
from tongxing.embedded_font import CjkFont, FontSubset, load_font

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "SEAL_TEXT", "certificate_pdf", "single_page_pdf"]

PAGE_WIDTH = 595.28  # A4 in points
PAGE_HEIGHT = 841.89
SEAL_TEXT = "（盖章）"

_MARGIN = 72.0
_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # the binary comment marks the file as binary

# single_page_pdf's fonts, for content written by hand in tests: STSong-Light (never
# embedded; codes under UniGB-UCS2-H are UCS-2, ASCII forced to half an em) and Helvetica.
_STANDARD_FONTS = (
    b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
    b" /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
    b" /CapHeight 626 /StemV 93 /Style << /Panose <010502020400000000000000> >> >>",
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
    b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
    b" /FontDescriptor %d 0 R /DW 1000 /W [1 95 500] >>",
    b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
    b" /DescendantFonts [%d 0 R] >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
)


def _num(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode("ascii")


def _check_text(text: str) -> None:
    for ch in text:
        code = ord(ch)
        # Astral characters stay out (two-byte codes), control characters would break the layout.
        if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF or code > 0xFFFF:
            raise ValueError(f"unsupported character U+{code:04X} in {text!r}")


class _Objects:
    """Numbered indirect objects, serialised with a classic xref table."""

    def __init__(self) -> None:
        self._bodies: list[bytes | None] = []

    def reserve(self) -> int:
        self._bodies.append(None)
        return len(self._bodies)

    def put(self, number: int, body: bytes) -> int:
        self._bodies[number - 1] = body
        return number

    def add(self, body: bytes) -> int:
        return self.put(self.reserve(), body)

    def add_stream(self, entries: bytes, data: bytes) -> int:
        head = b"<< " + entries + (b" " if entries else b"") + b"/Length %d >>" % len(data)
        return self.add(head + b"\nstream\n" + data + b"\nendstream")

    def serialize(self, *, root: int, info: int) -> bytes:
        out = bytearray(_HEADER)
        offsets: list[int] = []
        for number, body in enumerate(self._bodies, start=1):
            if body is None:
                raise RuntimeError(f"object {number} reserved but never written")
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        # The ID only has to be stable for identical content, so hash what precedes it.
        file_id = hashlib.sha256(out).hexdigest()[:32].upper().encode("ascii")
        xref_offset = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n" % (
            len(offsets) + 1,
            root,
            info,
            file_id,
            file_id,
        )
        out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
        return bytes(out)


@dataclass(frozen=True)
class _Text:
    text: str
    x: float
    y: float
    size: float


class _Page:
    """A page's drawing operators; text is kept as text until the font subset is known."""

    def __init__(self, font: CjkFont) -> None:
        self.items: list[bytes | _Text] = []
        self.font = font

    def text(self, text: str, *, x: float, y: float, size: float) -> None:
        _check_text(text)
        self.font.check(text)
        self.items.append(_Text(text, x, y, size))

    def right_aligned(self, text: str, *, right: float, y: float, size: float) -> None:
        self.text(text, x=right - self.font.width(text, size), y=y, size=size)

    def centred(self, text: str, *, y: float, size: float) -> None:
        self.text(text, x=(PAGE_WIDTH - self.font.width(text, size)) / 2, y=y, size=size)

    def frame(self) -> None:
        inner_w, inner_h = PAGE_WIDTH - 2 * 36, PAGE_HEIGHT - 2 * 36
        self.items.append(
            b"q 0.62 0.08 0.08 RG 2 w 36 36 %s %s re S 0.5 w 42 42 %s %s re S Q"
            % (_num(inner_w), _num(inner_h), _num(inner_w - 12), _num(inner_h - 12))
        )

    def characters(self) -> set[str]:
        return {ch for item in self.items if isinstance(item, _Text) for ch in item.text}

    def stream(self, font: FontSubset) -> bytes:
        ops = [
            item
            if isinstance(item, bytes)
            else b"BT /F1 %s Tf %s %s Td %s Tj ET"
            % (_num(item.size), _num(item.x), _num(item.y), font.show(item.text))
            for item in self.items
        ]
        return b"\n".join(ops) + b"\n"


def _padding(size: int, seed: bytes) -> tuple[int, int, bytes]:
    """An unused DeviceGray image: SHAKE output does not compress, so the file grows as asked."""
    width = 256
    height = max(1, -(-size // width))
    data = hashlib.shake_256(b"tongxing-padding\0" + seed).digest(width * height)
    return width, height, data


def _first_page(
    page: _Page, *, title: str, holder: str, lines: list[str], number: str, issued: str
) -> None:
    page.frame()
    page.centred(title, y=PAGE_HEIGHT - 130, size=26)
    y = PAGE_HEIGHT - 210
    page.text(f"持证人 / Holder：{holder}", x=_MARGIN, y=y, size=14)
    y -= 36
    for line in lines:
        page.text(line, x=_MARGIN, y=y, size=12)
        y -= 22
    y -= 14
    page.text(f"证书编号 / No.：{number}", x=_MARGIN, y=y, size=12)
    y -= 22
    page.text(f"发证日期 / Issued：{issued}", x=_MARGIN, y=y, size=12)
    page.right_aligned(SEAL_TEXT, right=PAGE_WIDTH - _MARGIN - 18, y=130, size=14)


def _extra_page(page: _Page, *, index: int, number: str) -> None:
    page.frame()
    page.centred(f"第 {index} 页 / Page {index}", y=PAGE_HEIGHT - 110, size=18)
    y = PAGE_HEIGHT - 170
    for line_no in range(1, 6):
        page.text(
            f"附页 {index} 第 {line_no} 行 / Annex {index}, line {line_no}", x=_MARGIN, y=y, size=12
        )
        y -= 22
    page.text(f"Certificate {number}, page {index}", x=_MARGIN, y=y - 10, size=10)


def _assemble(
    page_streams: list[bytes],
    *,
    font: FontSubset | None,
    title: str,
    padding: tuple[int, int, bytes] | None,
) -> bytes:
    """The file: ``font`` as /F1, or (``None``) the standard fonts /F1 and /F2."""
    objs = _Objects()
    catalog = objs.reserve()
    pages = objs.reserve()
    if font is not None:
        fonts = b"/F1 %d 0 R" % font.write(add=objs.add, add_stream=objs.add_stream)
    else:
        descriptor, cid_font, type0, helvetica = _STANDARD_FONTS
        cid = objs.add(cid_font % objs.add(descriptor))
        fonts = b"/F1 %d 0 R /F2 %d 0 R" % (objs.add(type0 % cid), objs.add(helvetica))
    xobjects = b""
    if padding is not None:
        width, height, data = padding
        pad = objs.add_stream(
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
            b" /BitsPerComponent 8" % (width, height),
            data,
        )
        xobjects = b" /XObject << /Pad %d 0 R >>" % pad
    resources = objs.add(
        b"<< /Font << %s >>%s /ProcSet [/PDF /Text /ImageB] >>" % (fonts, xobjects)
    )
    kids: list[int] = []
    for data in page_streams:
        content = objs.add_stream(b"", data)
        kids.append(
            objs.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources %d 0 R"
                b" /Contents %d 0 R >>"
                % (pages, _num(PAGE_WIDTH), _num(PAGE_HEIGHT), resources, content)
            )
        )
    objs.put(
        pages,
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids)),
    )
    objs.put(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    info = objs.add(
        b"<< /Title <FEFF%s> /Producer (Tongxing sample_certificate) >>"
        % title.encode("utf-16-be").hex().upper().encode("ascii")
    )
    return objs.serialize(root=catalog, info=info)


def certificate_pdf(
    *,
    title: str,
    holder: str,
    lines: list[str],
    number: str,
    pages: int = 1,
    padding_bytes: int = 0,
    issued: str = "2025-01-01",
    font: str | None = None,
) -> bytes:
    """Return a deterministic A4 certificate whose first page ends with the ``（盖章）`` anchor.

    All text is set in one embedded subset of a CJK font with Latin glyphs: ``font`` (a
    file; ``TONGXING_SEAL_FONT`` in the service), else the regular-weight one fontconfig
    finds (Noto CJK), its Simplified Chinese face. ``padding_bytes`` (rounded up to a
    multiple of 256) adds incompressible bytes so callers can produce files of a chosen size.
    Raises ValueError for text the font cannot show, FontError when there is no usable font.
    """
    if pages < 1:
        raise ValueError("pages must be >= 1")
    if padding_bytes < 0:
        raise ValueError("padding_bytes must be >= 0")
    path = find_cjk_font(font or None, style="Regular")
    cjk = load_font(path, preferred_face_index(path))
    first = _Page(cjk)
    _first_page(first, title=title, holder=holder, lines=lines, number=number, issued=issued)
    sheets = [first]
    for index in range(2, pages + 1):
        extra = _Page(cjk)
        _extra_page(extra, index=index, number=number)
        sheets.append(extra)
    subset = cjk.subset(frozenset().union(*(sheet.characters() for sheet in sheets)))
    padding = None
    if padding_bytes:
        seed = "\0".join([title, holder, number, issued, *lines]).encode("utf-8")
        padding = _padding(padding_bytes, seed)
    return _assemble(
        [sheet.stream(subset) for sheet in sheets], font=subset, title=title, padding=padding
    )


def single_page_pdf(content: bytes) -> bytes:
    """A blank A4 page drawing ``content``, written by hand (e.g. for QR and anchor tests),
    with standard, non-embedded fonts: /F1 STSong-Light (UniGB-UCS2-H) and /F2 Helvetica."""
    return _assemble([content], font=None, title="content", padding=None)
