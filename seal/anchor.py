"""Locate an anchor text (e.g. "（盖章）") on a PDF page, in PDF user-space points."""

from __future__ import annotations

import io
import math
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.generic import ByteStringObject, DictionaryObject, TextStringObject

try:  # pypdf's font model: encodings, ToUnicode and widths (incl. standard 14); not public API
    from pypdf.generic._font import Font as _PypdfFont
except ImportError:  # pragma: no cover - other pypdf layouts fall back to estimates
    _PypdfFont = None  # type: ignore[assignment,misc]

__all__ = ["find_anchor"]

Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(a: Sequence[float], b: Sequence[float]) -> Matrix:
    """a × b in PDF's row-vector convention: apply a first, then b."""
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def _translate(tx: float, ty: float) -> Matrix:
    return (1.0, 0.0, 0.0, 1.0, tx, ty)


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
        return result if math.isfinite(result) else default
    return default


def _matrix(value: Any) -> Matrix:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 6:
        return _IDENTITY
    items = [_num(v, math.nan) for v in value]
    if any(math.isnan(v) for v in items):
        return _IDENTITY
    return (items[0], items[1], items[2], items[3], items[4], items[5])


def _fallback_em(ch: str) -> float:
    # Full-width / wide characters occupy an em; everything else roughly half of one.
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5


def _raw_bytes(value: Any) -> bytes | None:
    # pypdf parses content for extraction with forced "bytes" encoding, but a TextStringObject
    # can still appear (e.g. a stream already parsed elsewhere); its original bytes are the codes.
    if isinstance(value, TextStringObject):
        return value.get_original_bytes()
    if isinstance(value, (ByteStringObject, bytes)):
        return bytes(value)
    return None


@dataclass(frozen=True)
class _Glyph:
    text: str  # Unicode, possibly several chars (ligatures) or "" when unmapped
    width: float  # advance in text space units for a 1-point font
    word_space: bool  # single-byte code 32: the only code Tw applies to


class _FontInfo:
    """Decodes show-text operands into glyphs with Unicode text and advance widths."""

    def __init__(self, font_dict: Any) -> None:
        self.ascent, self.descent = 0.8, -0.2
        self._encoding: str | dict[int, str] = "latin-1"
        self._cmap: dict[str, str] = {}
        self._widths: dict[str, float] = {}
        self._default: float | None = None
        self._scale = 0.001  # glyph space → text space
        self._identity = False
        if _PypdfFont is None or not isinstance(font_dict, DictionaryObject):
            return
        try:
            self._load(font_dict)
        except Exception:  # a broken font only costs precision, never the lookup
            self._encoding, self._cmap, self._widths, self._default = "latin-1", {}, {}, None

    def _load(self, font_dict: DictionaryObject) -> None:
        assert _PypdfFont is not None
        font = _PypdfFont.from_font_resource(font_dict)
        self._encoding = font.encoding
        self._cmap = {
            k: v for k, v in font.character_map.items() if isinstance(k, str) and isinstance(v, str)
        }
        descriptor = font.font_descriptor
        if -1000 <= descriptor.descent < 0 < descriptor.ascent <= 2000:
            self.ascent, self.descent = descriptor.ascent / 1000, descriptor.descent / 1000
        subtype = font_dict.get("/Subtype")
        if subtype == "/Type3":
            self._scale = abs(_matrix(font_dict.get("/FontMatrix"))[0]) or 0.001
        widths = {
            k: float(v)
            for k, v in font.character_widths.items()
            if k != "default" and isinstance(v, (int, float)) and v > 0
        }
        if isinstance(self._encoding, dict):
            self._widths = widths
            # pypdf's default (MissingWidth, or derived from the space width) is only trusted
            # when the font carries widths at all; otherwise our estimate is better.
            default = font.character_widths.get("default")
            if widths and isinstance(default, (int, float)) and default > 0:
                self._default = float(default)
        elif font_dict.get("/Encoding") in ("/Identity-H", "/Identity-V"):
            # Codes are CIDs, so /W applies directly; CIDs missing from /W take /DW.
            self._identity = True
            self._widths = widths
            self._default = _cid_default_width(font_dict)
        # Other predefined CMaps (UniGB-UCS2-H …): /W is keyed by CID but codes are not CIDs,
        # and resolving them needs the CMap file itself, so widths are estimated instead.

    def glyphs(self, raw: bytes) -> list[_Glyph]:
        out: list[_Glyph] = []
        if isinstance(self._encoding, dict):
            for byte in raw:
                key = chr(byte)
                ch = self._encoding.get(byte, key)
                text = self._cmap.get(ch, ch)
                out.append(_Glyph(text, self._width(key, text), byte == 32))
        elif self._encoding == "utf-16-be":
            for i in range(0, len(raw) - 1, 2):
                key = chr(int.from_bytes(raw[i : i + 2], "big"))
                text = self._cmap.get(key, key)
                out.append(_Glyph(text, self._width(key, text), False))
        else:  # multi-byte legacy codecs (gbk, cp932 …): widths can only be estimated
            try:
                decoded = raw.decode(self._encoding, "replace")
            except LookupError:
                decoded = raw.decode("latin-1")
            for ch in decoded:
                text = self._cmap.get(ch, ch)
                out.append(_Glyph(text, self._width(None, text), ch == " "))
        return out

    def _width(self, key: str | None, text: str) -> float:
        if key is not None and key in self._widths:
            return self._widths[key] * self._scale
        if self._default is not None and key is not None:
            return self._default * self._scale
        return _fallback_em(text[0]) if text else 0.5


def _cid_default_width(font_dict: DictionaryObject) -> float:
    descendants: Any = font_dict.get("/DescendantFonts")
    try:
        width = _num(descendants.get_object()[0].get_object().get("/DW", 1000), 1000.0)
    except Exception:
        return 1000.0
    return width if 0 < width < 5000 else 1000.0


@dataclass(frozen=True)
class _TextState:
    font: _FontInfo | None = None
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    h_scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0


@dataclass
class _Frame:
    base: Matrix  # maps this content stream's default space to page user space
    resources: Any


@dataclass
class _PendingForm:
    frame: _Frame
    state: _TextState
    entered: bool = False


@dataclass
class _Walker:
    """Interprets the text operators pypdf reports and records one box per glyph.

    pypdf supplies parsing, form XObject recursion and the CTM; the text matrix is tracked here
    because pypdf's does not advance across glyphs, and its visitor_text merges runs, inserts
    guessed spaces and ignores TJ offsets, Tc and Tz (off by ~20 pt on cairo output).
    """

    page_resources: Any
    chars: list[str] = field(default_factory=list)
    boxes: list[Box | None] = field(default_factory=list)
    frames: list[_Frame] = field(default_factory=list)
    pending: list[_PendingForm] = field(default_factory=list)
    fonts: dict[int, _FontInfo] = field(default_factory=dict)
    state: _TextState = field(default_factory=_TextState)
    saved: list[_TextState] = field(default_factory=list)
    tm: Matrix = _IDENTITY
    tlm: Matrix = _IDENTITY
    last: tuple[float, float, Matrix] | None = None  # pen position and rendering matrix

    def __post_init__(self) -> None:
        self.frames.append(_Frame(_IDENTITY, self.page_resources))

    # pypdf extracts a form XObject with a fresh identity CTM, so the form's /Matrix and the
    # CTM at `Do` are re-applied here. The nested run is bracketed by before(Do) … after(Do);
    # the frame is entered at the first nested operator.
    def before(self, op: bytes, operands: Any, cm: Any, tm: Any) -> None:
        if self.pending and not self.pending[-1].entered:
            self.pending[-1].entered = True
            self.frames.append(self.pending[-1].frame)
        handler = _HANDLERS.get(op)
        if handler is not None:
            handler(self, operands if isinstance(operands, list) else [], _matrix(cm))

    def after(self, op: bytes, operands: Any, cm: Any, tm: Any) -> None:
        if op == b"Do" and self.pending:
            entry = self.pending.pop()
            self.state = entry.state  # Do brackets the form in an implicit q … Q
            if entry.entered and len(self.frames) > 1:
                self.frames.pop()

    def _do(self, operands: list[Any], cm: Matrix) -> None:
        frame = self.frames[-1]
        try:
            xobj = frame.resources["/XObject"][operands[0]].get_object()
            form_base = _mul(_matrix(xobj.get("/Matrix", _IDENTITY)), _mul(cm, frame.base))
            form_frame = _Frame(form_base, xobj.get("/Resources", frame.resources))
        except Exception:  # unresolvable XObject: pypdf skips it as well
            form_frame = _Frame(frame.base, frame.resources)
        self.pending.append(_PendingForm(form_frame, self.state))

    def _font(self, operands: list[Any], cm: Matrix) -> None:
        size = _num(operands[1]) if len(operands) > 1 else self.state.size
        font: _FontInfo | None = None
        try:
            font_dict = self.frames[-1].resources["/Font"][operands[0]].get_object()
        except Exception:
            font_dict = None
        if font_dict is not None:
            font = self.fonts.get(id(font_dict))
            if font is None:
                font = self.fonts[id(font_dict)] = _FontInfo(font_dict)
        self.state = replace(self.state, font=font or _FontInfo(None), size=size)

    def _move(self, tx: float, ty: float) -> None:
        self.tlm = self.tm = _mul(_translate(tx, ty), self.tlm)

    def _next_line(self) -> None:
        self._move(0.0, -self.state.leading)

    def show(self, raw: Any, cm: Matrix) -> None:
        data = _raw_bytes(raw)
        if data is None:
            return
        st = self.state
        font = st.font or _FontInfo(None)
        base = self.frames[-1].base
        for glyph in font.glyphs(data):
            trm = _mul(
                _mul((st.size * st.h_scale, 0.0, 0.0, st.size, 0.0, st.rise), self.tm),
                _mul(cm, base),
            )
            self._record(glyph, trm, font)
            advance = glyph.width * st.size + st.char_spacing
            if glyph.word_space:
                advance += st.word_spacing
            self.tm = _mul(_translate(advance * st.h_scale, 0.0), self.tm)

    def _record(self, glyph: _Glyph, trm: Matrix, font: _FontInfo) -> None:
        origin = _apply(trm, 0.0, 0.0)
        if self.last is not None and self._breaks_line(origin, trm):
            self.chars.append("\n")
            self.boxes.append(None)
        corners = [
            _apply(trm, gx, gy) for gx in (0.0, glyph.width) for gy in (font.descent, font.ascent)
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        box = (min(xs), min(ys), max(xs), max(ys))
        for ch in glyph.text:  # a ligature's characters share its box
            self.chars.append(ch)
            self.boxes.append(box)
        self.last = (*_apply(trm, glyph.width, 0.0), trm)

    def _breaks_line(self, origin: tuple[float, float], trm: Matrix) -> bool:
        # Letter-spaced anchors ("盖    章") must still match, so only a baseline change, a
        # jump back along the baseline or a change of direction separates text runs.
        assert self.last is not None
        last_x, last_y, last_trm = self.last
        ux, uy = trm[0], trm[1]
        vx, vy = trm[2], trm[3]
        along_len, up_len = math.hypot(ux, uy), math.hypot(vx, vy)
        if along_len == 0 or up_len == 0:
            return True
        pux, puy = last_trm[0], last_trm[1]
        plen = math.hypot(pux, puy)
        if plen == 0 or (ux * pux + uy * puy) / (along_len * plen) < 0.99:
            return True
        dx, dy = origin[0] - last_x, origin[1] - last_y
        along = (dx * ux + dy * uy) / along_len
        across = (dx * vx + dy * vy) / up_len
        return abs(across) > 0.5 * up_len or along < -up_len


def _op_q(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    w.saved.append(w.state)


def _op_big_q(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if w.saved:
        w.state = w.saved.pop()


def _op_bt(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    w.tm = w.tlm = _IDENTITY


def _op_td(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if len(operands) >= 2:
        w._move(_num(operands[0]), _num(operands[1]))


def _op_big_td(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if len(operands) >= 2:
        w.state = replace(w.state, leading=-_num(operands[1]))
        w._move(_num(operands[0]), _num(operands[1]))


def _op_tm(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    w.tm = w.tlm = _matrix(operands)


def _op_t_star(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    w._next_line()


def _op_tc(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.state = replace(w.state, char_spacing=_num(operands[0]))


def _op_tw(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.state = replace(w.state, word_spacing=_num(operands[0]))


def _op_tz(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.state = replace(w.state, h_scale=_num(operands[0], 100.0) / 100)


def _op_tl(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.state = replace(w.state, leading=_num(operands[0]))


def _op_ts(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.state = replace(w.state, rise=_num(operands[0]))


def _op_tj(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if operands:
        w.show(operands[0], cm)


def _op_big_tj(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if not operands or not isinstance(operands[0], list):
        return
    for item in operands[0]:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            shift = -_num(item) / 1000 * w.state.size * w.state.h_scale
            w.tm = _mul(_translate(shift, 0.0), w.tm)
        else:
            w.show(item, cm)


def _op_quote(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    w._next_line()
    if operands:
        w.show(operands[0], cm)


def _op_double_quote(w: _Walker, operands: list[Any], cm: Matrix) -> None:
    if len(operands) >= 3:
        w.state = replace(w.state, word_spacing=_num(operands[0]), char_spacing=_num(operands[1]))
        _op_quote(w, operands[2:], cm)


_HANDLERS = {
    b"q": _op_q,
    b"Q": _op_big_q,
    b"BT": _op_bt,
    b"Td": _op_td,
    b"TD": _op_big_td,
    b"Tm": _op_tm,
    b"T*": _op_t_star,
    b"Tc": _op_tc,
    b"Tw": _op_tw,
    b"Tz": _op_tz,
    b"TL": _op_tl,
    b"Ts": _op_ts,
    b"Tf": _Walker._font,
    b"Tj": _op_tj,
    b"TJ": _op_big_tj,
    b"'": _op_quote,
    b'"': _op_double_quote,
    b"Do": _Walker._do,
}


def _search(walker: _Walker, needle: str) -> Box | None:
    # Whitespace is ignored on both sides (producers often omit space glyphs or draw extra
    # ones); line breaks stay as barriers so a match never spans two runs.
    kept = [i for i, ch in enumerate(walker.chars) if ch == "\n" or not ch.isspace()]
    haystack = "".join(walker.chars[i] for i in kept)
    start = haystack.find(needle)
    if start < 0:
        return None
    real = [b for i in kept[start : start + len(needle)] if (b := walker.boxes[i]) is not None]
    if not real:
        return None
    return (
        round(min(b[0] for b in real), 3),
        round(min(b[1] for b in real), 3),
        round(max(b[2] for b in real), 3),
        round(max(b[3] for b in real), 3),
    )


class AnchorBudgetExceeded(ValueError):
    """The text search ran out of its time budget (a hostile or pathological document)."""


def _search_page(page: PageObject, needle: str, *, deadline: float) -> Box | None:
    walker = _Walker(page.get("/Resources"))
    calls, exceeded = 0, False

    def before(*args: Any) -> None:
        # Sticky: pypdf swallows exceptions raised inside form XObjects, so once over budget
        # every later operator raises again (each form then stops at its first one), and the
        # flag is checked after extraction in case nothing let it through.
        nonlocal calls, exceeded
        calls += 1
        if exceeded or (calls % 512 == 0 and time.monotonic() > deadline):
            exceeded = True
            raise AnchorBudgetExceeded("the anchor search took too long")
        walker.before(*args)

    page.extract_text(visitor_operand_before=before, visitor_operand_after=walker.after)
    if exceeded:
        raise AnchorBudgetExceeded("the anchor search took too long")
    return _search(walker, needle)


def find_anchor(
    pdf: bytes,
    text: str,
    *,
    page: int | None = None,
    seconds: float = 5.0,
    max_pages: int = 200,
) -> tuple[int, float, float, float, float] | None:
    """Return ``(page_index, x0, y0, x1, y1)`` of the first occurrence of ``text``, or None.

    Coordinates are unrotated user space (``/Rotate`` is ignored); the box spans the fonts'
    ascent/descent. Widths come from the font where the code→width mapping is known, otherwise
    1 em for full-width and 0.5 em for other characters. Unreadable input raises ``ValueError``.
    """
    needle = "".join(ch for ch in text if not ch.isspace())
    if not needle:
        raise ValueError("anchor text must contain a non-whitespace character")
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        count = len(reader.pages)
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises a zoo of types (PdfReadError, KeyError, …)
        raise ValueError(f"unreadable PDF: {exc}") from exc
    if page is not None and not 0 <= page < count:
        raise ValueError(f"page {page} out of range (document has {count} pages)")
    # A budget: text extraction is the one step whose cost a document can inflate at will
    # (nested form XObjects, huge content streams); the first ``max_pages`` pages only.
    deadline = time.monotonic() + seconds
    for index in range(min(count, max_pages)) if page is None else (page,):
        if time.monotonic() > deadline:
            raise AnchorBudgetExceeded("the anchor search took too long")
        try:
            box = _search_page(reader.pages[index], needle, deadline=deadline)
        except (MemoryError, AnchorBudgetExceeded):
            raise
        except Exception as exc:
            raise ValueError(f"cannot extract text from page {index}: {exc}") from exc
        if box is not None:
            return (index, *box)
    return None
