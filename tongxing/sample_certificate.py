"""Deterministic, hand-written PDF 1.7 sample certificates (CJK via non-embedded STSong-Light)."""

from __future__ import annotations

import hashlib

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "SEAL_TEXT", "certificate_pdf", "single_page_pdf"]

PAGE_WIDTH = 595.28  # A4 in points
PAGE_HEIGHT = 841.89
SEAL_TEXT = "（盖章）"

_MARGIN = 72.0
_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # the binary comment marks the file as binary

# Adobe's published metrics for STSong-Light; the font is never embedded, so viewers substitute
# a locally installed GB1 font (poppler: via fontconfig, lang zh-cn).
_CID_FONT_DESCRIPTOR = (
    b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
    b" /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
    b" /CapHeight 626 /StemV 93 /Style << /Panose <010502020400000000000000> >> >>"
)
# UniGB-UCS2-H maps U+0020..U+007E to CIDs 1..95 (proportional Latin). Without /W they would
# advance a full em (DW 1000); forcing 500 keeps mixed lines readable and makes widths computable
# without font metrics: half an em for ASCII, a full em for everything else.
_CID_FONT = (
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
    b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
    b" /FontDescriptor %d 0 R /DW 1000 /W [1 95 500] >>"
)


def _num(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode("ascii")


def _is_ascii_line(text: str) -> bool:
    return all(0x20 <= ord(ch) < 0x7F for ch in text)


def _check_text(text: str) -> None:
    for ch in text:
        code = ord(ch)
        # UCS-2 cannot express astral characters, and control characters would break the layout.
        if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF or code > 0xFFFF:
            raise ValueError(f"unsupported character U+{code:04X} in {text!r}")


def _cjk_width(text: str, size: float) -> float:
    """Advance width in points of text shown with /F1 (matches the /DW and /W entries above)."""
    return sum(500 if 0x20 <= ord(ch) < 0x7F else 1000 for ch in text) * size / 1000


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii") + b")"


def _utf16_hex(text: str) -> bytes:
    return b"<" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


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


def _to_unicode_cmap(chars: set[str]) -> bytes:
    # Codes under UniGB-UCS2-H are the UCS-2 values themselves, so the map is an identity map
    # restricted to the characters actually used (keeps the stream small and content-derived).
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <FFFF>",
        b"endcodespacerange",
    ]
    codes = sorted({ord(ch) for ch in chars})
    for start in range(0, len(codes), 100):  # a bfchar block may hold at most 100 entries
        chunk = codes[start : start + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        lines.extend(b"<%04X> <%04X>" % (code, code) for code in chunk)
        lines.append(b"endbfchar")
    lines += [
        b"endcmap",
        b"CMapName currentdict /CMap defineresource pop",
        b"end",
        b"end",
    ]
    return b"\n".join(lines)


class _Page:
    """Content-stream builder that records every CJK character for the ToUnicode map."""

    def __init__(self, used: set[str]) -> None:
        self.ops: list[bytes] = []
        self._used = used

    def text(self, text: str, *, x: float, y: float, size: float) -> None:
        _check_text(text)
        if _is_ascii_line(text):
            font, operand = b"/F2", _literal(text)
        else:
            font, operand = b"/F1", _utf16_hex(text)
            self._used.update(text)
        self.ops.append(
            b"BT %s %s Tf %s %s Td %s Tj ET" % (font, _num(size), _num(x), _num(y), operand)
        )

    def cjk_text(self, text: str, *, x: float, y: float, size: float) -> None:
        """Always /F1, so the width is known for centring and right alignment."""
        _check_text(text)
        self._used.update(text)
        self.ops.append(
            b"BT /F1 %s Tf %s %s Td %s Tj ET" % (_num(size), _num(x), _num(y), _utf16_hex(text))
        )

    def centred(self, text: str, *, y: float, size: float) -> None:
        self.cjk_text(text, x=(PAGE_WIDTH - _cjk_width(text, size)) / 2, y=y, size=size)

    def frame(self) -> None:
        inner_w, inner_h = PAGE_WIDTH - 2 * 36, PAGE_HEIGHT - 2 * 36
        self.ops.append(
            b"q 0.62 0.08 0.08 RG 2 w 36 36 %s %s re S 0.5 w 42 42 %s %s re S Q"
            % (_num(inner_w), _num(inner_h), _num(inner_w - 12), _num(inner_h - 12))
        )

    def stream(self) -> bytes:
        return b"\n".join(self.ops) + b"\n"


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
    seal_size = 14.0
    right = PAGE_WIDTH - _MARGIN - 18
    page.cjk_text(SEAL_TEXT, x=right - _cjk_width(SEAL_TEXT, seal_size), y=130, size=seal_size)


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
    used: set[str] | None,
    *,
    title: str,
    padding: tuple[int, int, bytes] | None,
) -> bytes:
    objs = _Objects()
    catalog = objs.reserve()
    pages = objs.reserve()
    descriptor = objs.add(_CID_FONT_DESCRIPTOR)
    cid_font = objs.add(_CID_FONT % descriptor)
    # Arbitrary content (used is None) gets no ToUnicode: a whole-BMP map costs pypdf ~0.1 s to
    # parse, and pypdf and poppler both decode UniGB-UCS2-H codes as Unicode without one.
    to_unicode = b""
    if used is not None:
        to_unicode = b" /ToUnicode %d 0 R" % objs.add_stream(b"", _to_unicode_cmap(used))
    type0 = objs.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
        b" /DescendantFonts [%d 0 R]%s >>" % (cid_font, to_unicode)
    )
    helvetica = objs.add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
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
        b"<< /Font << /F1 %d 0 R /F2 %d 0 R >>%s /ProcSet [/PDF /Text /ImageB] >>"
        % (type0, helvetica, xobjects)
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
) -> bytes:
    """Return a deterministic A4 certificate whose first page ends with the ``（盖章）`` anchor.

    ``padding_bytes`` (rounded up to a multiple of 256) adds incompressible bytes so callers
    can produce files of a chosen size.
    """
    if pages < 1:
        raise ValueError("pages must be >= 1")
    if padding_bytes < 0:
        raise ValueError("padding_bytes must be >= 0")
    used: set[str] = set()
    first = _Page(used)
    _first_page(first, title=title, holder=holder, lines=lines, number=number, issued=issued)
    streams = [first.stream()]
    for index in range(2, pages + 1):
        extra = _Page(used)
        _extra_page(extra, index=index, number=number)
        streams.append(extra.stream())
    padding = None
    if padding_bytes:
        seed = "\0".join([title, holder, number, issued, *lines]).encode("utf-8")
        padding = _padding(padding_bytes, seed)
    return _assemble(streams, used, title=title, padding=padding)


def single_page_pdf(content: bytes) -> bytes:
    """A blank A4 page drawing ``content`` (fonts /F1 and /F2 available), e.g. for QR tests.

    /F1 has no ToUnicode here because the characters used are unknown.
    """
    return _assemble([content], None, title="content", padding=None)
