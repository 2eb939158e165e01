"""A subset of a CJK font embedded in a hand-written PDF (ISO 32000-1 §9.7, §9.8, §9.10.3).

One composite font (Type0, ``Identity-H``: two-byte codes) over a CIDFont that carries only
the glyphs used: a CID-keyed OpenType/CFF font such as Noto CJK becomes ``CIDFontType0``
with ``FontFile3``/``CIDFontType0C`` (codes are the font's CIDs), a TrueType font becomes
``CIDFontType2`` with ``FontFile2`` (codes are the subset's glyph ids). Widths (``/W``) come
from the font's ``hmtx``, and a ToUnicode CMap makes the text extractable and searchable.

Everything is deterministic: the same font file and characters give the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from fontTools import subset
from fontTools.ttLib import TTFont, TTLibError

from seal.fonts import FontError

__all__ = ["CjkFont", "FontSubset", "load_font"]

_STEM_V = 80  # required by the descriptor; no font table states it, readers barely use it


def _open(path: str, face: int) -> TTFont:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return TTFont(BytesIO(data), fontNumber=face, recalcTimestamp=False, lazy=True)
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise FontError(f"cannot read font {path!r} (face {face}): {exc}") from exc


@dataclass(frozen=True)
class FontSubset:
    """The glyphs of some characters, ready to be written as PDF objects."""

    base_font: str  # with its subset tag, e.g. "KQZWPH+NotoSansCJKsc-Regular"
    program: bytes  # CFF (CID-keyed) or a whole TrueType file
    cff: bool
    registry: tuple[str, str, int]  # the CIDSystemInfo: registry, ordering, supplement
    codes: dict[str, int]  # character -> two-byte code (a CID, or a glyph id for TrueType)
    widths: dict[int, int]  # code -> advance in thousandths of an em
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]

    def show(self, text: str) -> bytes:
        """``text`` as a hexadecimal string operand for ``Tj``."""
        return b"<" + b"".join(b"%04X" % self.codes[ch] for ch in text) + b">"

    def write(
        self, *, add: Callable[[bytes], int], add_stream: Callable[[bytes, bytes], int]
    ) -> int:
        """Write the font's objects with ``add(body)`` / ``add_stream(entries, data)`` (each
        returning an object number); returns the number of the Type0 font dictionary."""
        program = zlib.compress(self.program, 9)
        if self.cff:
            file_key, entries = b"/FontFile3", b"/Subtype /CIDFontType0C /Filter /FlateDecode"
        else:
            file_key = b"/FontFile2"
            entries = b"/Length1 %d /Filter /FlateDecode" % len(self.program)
        font_file = add_stream(entries, program)
        name = self.base_font.encode("ascii")
        descriptor = add(
            b"<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%d %d %d %d]"
            b" /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV %d %s %d 0 R >>"
            % (
                name,
                *self.bbox,
                self.ascent,
                self.descent,
                self.cap_height,
                _STEM_V,
                file_key,
                font_file,
            )
        )
        registry, ordering, supplement = self.registry
        cid_font = add(
            b"<< /Type /Font /Subtype /%s /BaseFont /%s /CIDSystemInfo << /Registry (%s)"
            b" /Ordering (%s) /Supplement %d >> /FontDescriptor %d 0 R /DW 1000 /W [%s]%s >>"
            % (
                b"CIDFontType0" if self.cff else b"CIDFontType2",
                name,
                registry.encode("ascii"),
                ordering.encode("ascii"),
                supplement,
                descriptor,
                _width_array(self.widths),
                b"" if self.cff else b" /CIDToGIDMap /Identity",
            )
        )
        to_unicode = add_stream(b"", _to_unicode(self.codes))
        return add(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H"
            b" /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (name, cid_font, to_unicode)
        )


def _width_array(widths: dict[int, int]) -> bytes:
    """``/W`` as runs of consecutive codes: ``c [w1 w2 …]`` (§9.7.4.3)."""
    parts: list[bytes] = []
    run: list[int] = []
    start = previous = -2
    for code in sorted(widths):
        if code != previous + 1 and run:
            parts.append(b"%d [%s]" % (start, b" ".join(b"%d" % w for w in run)))
            run = []
        if not run:
            start = code
        run.append(widths[code])
        previous = code
    if run:
        parts.append(b"%d [%s]" % (start, b" ".join(b"%d" % w for w in run)))
    return b" ".join(parts)


def _to_unicode(codes: dict[str, int]) -> bytes:
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
    # Several characters may share a glyph (and so a code); the smallest one is its text.
    by_code: dict[int, str] = {}
    for ch in sorted(codes):
        by_code.setdefault(codes[ch], ch)
    pairs = sorted(by_code.items())
    for start in range(0, len(pairs), 100):  # a bfchar block holds at most 100 entries
        chunk = pairs[start : start + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        lines.extend(
            b"<%04X> <%s>" % (code, ch.encode("utf-16-be").hex().upper().encode("ascii"))
            for code, ch in chunk
        )
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


class CjkFont:
    """One face of a font file: its character map and advance widths (for layout), and the
    subsets of it that documents embed."""

    def __init__(self, path: str, face: int) -> None:
        self.path, self.face = path, face
        font = _open(path, face)
        cmap = font.getBestCmap()
        if not cmap:
            raise FontError(f"font {path!r} (face {face}) has no Unicode character map")
        self._cff = "CFF " in font
        if not self._cff and "glyf" not in font:
            raise FontError(f"font {path!r} is neither OpenType/CFF nor TrueType")
        if self._cff:
            top = font["CFF "].cff.topDictIndex[0]
            if not hasattr(top, "ROS"):
                raise FontError(
                    f"font {path!r} is a name-keyed CFF font; a CID-keyed one is needed"
                )
            registry, ordering, supplement = top.ROS
            self._registry = (str(registry), str(ordering), int(supplement))
        else:
            self._registry = ("Adobe", "Identity", 0)
        scale = 1000 / font["head"].unitsPerEm
        self._scale = scale
        metrics = font["hmtx"].metrics
        self._glyphs: dict[str, str] = {
            chr(code): name for code, name in cmap.items() if code <= 0xFFFF
        }
        self._advance: dict[str, int] = {
            ch: round(metrics[name][0] * scale) for ch, name in self._glyphs.items()
        }
        os2 = font["OS/2"]
        self._ascent = round(os2.sTypoAscender * scale)
        self._descent = round(os2.sTypoDescender * scale)
        cap = getattr(os2, "sCapHeight", 0) if os2.version >= 2 else 0
        self._cap_height = round(cap * scale) or self._ascent
        head = font["head"]
        self._bbox = tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
        self._ps_name = re.sub(r"[^A-Za-z0-9_.-]", "", font["name"].getDebugName(6) or "") or "CJK"

    def check(self, text: str) -> None:
        """Raise ValueError if the font has no glyph for a character of ``text``."""
        missing = sorted({ch for ch in text if ch not in self._glyphs})
        if missing:
            listed = ", ".join(f"U+{ord(ch):04X}" for ch in missing)
            raise ValueError(f"the font {self._ps_name} has no glyph for {listed}")

    def width(self, text: str, size: float) -> float:
        """Advance width of ``text`` in points at ``size`` (no kerning: none is applied)."""
        self.check(text)
        return sum(self._advance[ch] for ch in text) * size / 1000

    def subset(self, chars: frozenset[str]) -> FontSubset:
        """The subset for ``chars`` (cached per character set)."""
        return _subset(self, chars)

    def _make_subset(self, chars: frozenset[str]) -> FontSubset:
        self.check("".join(sorted(chars)))
        font = _open(self.path, self.face)
        options = subset.Options()
        options.layout_features = []  # one glyph per character: no shaping is applied
        options.hinting = False
        options.desubroutinize = True
        options.notdef_outline = True
        options.recalc_timestamp = False
        options.name_IDs = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(ord(ch) for ch in chars))
        subsetter.subset(font)
        order = font.getGlyphOrder()
        cmap = font.getBestCmap()
        codes: dict[str, int] = {}
        for ch in chars:
            name = cmap[ord(ch)]
            if self._cff:
                if not name.startswith("cid"):
                    raise FontError(f"glyph {name!r} of {self.path!r} has no CID")
                codes[ch] = int(name[3:])
            else:
                codes[ch] = order.index(name)
        widths = {codes[ch]: self._advance[ch] for ch in chars}
        digest = hashlib.sha256(repr((self._ps_name, sorted(codes.items()))).encode()).digest()
        tag = "".join(chr(ord("A") + b % 26) for b in digest[:6])
        base_font = f"{tag}+{self._ps_name}"
        if self._cff:
            cff = font["CFF "].cff
            cff.fontNames = [base_font]  # the CIDFontName matches /BaseFont (§9.7.4.1)
            program = font.getTableData("CFF ")
        else:
            out = BytesIO()
            font.save(out)
            program = out.getvalue()
        font.close()
        return FontSubset(
            base_font=base_font,
            program=program,
            cff=self._cff,
            registry=self._registry,
            codes=codes,
            widths=widths,
            ascent=self._ascent,
            descent=self._descent,
            cap_height=self._cap_height,
            bbox=(self._bbox[0], self._bbox[1], self._bbox[2], self._bbox[3]),
        )


@functools.lru_cache(maxsize=16)
def _subset(font: CjkFont, chars: frozenset[str]) -> FontSubset:
    return font._make_subset(chars)


@functools.lru_cache(maxsize=4)
def load_font(path: str, face: int) -> CjkFont:
    """The face ``face`` of the font file at ``path`` (loaded once per process)."""
    return CjkFont(path, face)
