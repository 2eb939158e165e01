"""Tests for the sample certificate generator, anchor finder and QR content (real poppler/pypdf)."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import random
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pypdf
import pytest
import segno
from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.stamp import TextStamp, TextStampStyle

from seal.anchor import find_anchor
from seal.appearance import QR_MARGIN, QR_MODULE, qr_square
from seal.fonts import find_cjk_font, preferred_face_index
from seal.qr import QUIET_ZONE, qr_content, qr_matrix, qr_side
from tongxing.demo_sealing import sample_permit
from tongxing.embedded_font import CjkFont, load_font
from tongxing.sample_certificate import PAGE_HEIGHT, SEAL_TEXT, certificate_pdf, single_page_pdf

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils not installed",
)

LINES = ["工程名称：通行大厦（一期）", "Project: Tongxing Tower, phase 1", "建设地址：北京市朝阳区"]
URL = "https://seal.example.cn/v/TX-2025-000123?c=9f86d081884c7d65"


def make(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "title": "施工许可证 / Construction permit",
        "holder": "通行建设集团有限公司",
        "lines": LINES,
        "number": "TX-2025-000123",
    }
    args.update(overrides)
    return certificate_pdf(**args)  # type: ignore[arg-type]


def certificate_font() -> CjkFont:
    """The font the generator picks (no TONGXING_SEAL_FONT in tests)."""
    path = find_cjk_font(None, style="Regular")
    return load_font(path, preferred_face_index(path))


@pytest.fixture(scope="module")
def cert() -> bytes:
    return make()


@pytest.fixture(scope="module")
def cert3() -> bytes:
    return make(pages=3)


def run(tool: str, *args: str, data: bytes, tmp: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a poppler tool on data; output goes to stdout (pdftoppm does that without a root)."""
    src = tmp / f"in-{len(list(tmp.iterdir()))}.pdf"
    src.write_bytes(data)
    out = [] if tool == "pdftoppm" else ["-"]
    return subprocess.run(
        [tool, *args, str(src), *out], capture_output=True, check=True, timeout=30
    )


def poppler_words(
    data: bytes, tmp: Path, page: int
) -> list[tuple[str, float, float, float, float]]:
    """pdftotext -bbox words as (text, x0, y0, x1, y1) in user space (poppler's y is top-down)."""
    out = run("pdftotext", "-bbox", "-f", str(page + 1), "-l", str(page + 1), data=data, tmp=tmp)
    words = []
    for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        out.stdout.decode(),
    ):
        x0, top, x1, bottom = (float(v) for v in m.groups()[:4])
        words.append((m.group(5), x0, PAGE_HEIGHT - bottom, x1, PAGE_HEIGHT - top))
    return words


# --- sample_certificate -------------------------------------------------------------------


def test_pdftotext_extracts_chinese(cert: bytes, tmp_path: Path) -> None:
    result = run("pdftotext", "-layout", data=cert, tmp=tmp_path)
    text = result.stdout.decode()
    for expected in (
        "施工许可证",
        "通行建设集团有限公司",
        "通行大厦（一期）",
        "TX-2025-000123",
        "Project: Tongxing Tower, phase 1",
        "发证日期",
        SEAL_TEXT,
    ):
        assert expected in text
    assert result.stderr == b""


def test_render_shows_cjk_glyphs_not_boxes(cert: bytes, tmp_path: Path) -> None:
    result = run("pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", data=cert, tmp=tmp_path)
    assert result.stderr == b""  # poppler reports "Couldn't find a font" here otherwise
    image = Image.open(io.BytesIO(result.stdout)).convert("L")
    scale = 50 / 72
    anchor = find_anchor(cert, SEAL_TEXT)
    assert anchor is not None
    _, x0, _y0, x1, y1 = anchor
    width = (x1 - x0) / 4

    side = round(width * scale)

    def crop(index: int) -> list[int]:
        left, top = round((x0 + index * width) * scale), round((PAGE_HEIGHT - y1) * scale)
        return list(image.crop((left, top, left + side, top + side)).tobytes())

    gai, zhang = crop(1), crop(2)
    assert min(gai) < 128 and min(zhang) < 128  # ink present
    # .notdef boxes would look identical; two real, different ideographs do not.
    assert sum(abs(a - b) for a, b in zip(gai, zhang, strict=True)) > 500


def test_one_font_embedded_as_a_subset(cert3: bytes, tmp_path: Path) -> None:
    source = tmp_path / "cert3.pdf"
    source.write_bytes(cert3)
    listing = subprocess.run(["pdffonts", str(source)], capture_output=True, check=True, timeout=30)
    rows = listing.stdout.decode().splitlines()[2:]
    assert len(rows) == 1, rows  # one font for Chinese and Latin alike
    name, *_, emb, sub, uni, _number, _generation = rows[0].split()
    assert re.fullmatch(r"[A-Z]{6}\+[A-Za-z0-9-]+", name)
    assert (emb, sub, uni) == ("yes", "yes", "yes")
    assert "CID Type 0C" in rows[0] and "Identity-H" in rows[0]  # Noto CJK: CID-keyed CFF
    assert len(cert3) < 40_000  # tens of glyphs, not the 16 MB collection


def test_pdftotext_gives_back_the_exact_lines(tmp_path: Path) -> None:
    permit = sample_permit()
    result = run("pdftotext", data=permit, tmp=tmp_path)
    assert result.stderr == b""
    text = result.stdout.decode()
    lines = text.splitlines()
    for expected in (
        "建筑工程施工许可证",
        "持证人 / Holder：某某科技有限公司",
        "建设地点：通行市高新区创新路 88 号",
        "建设规模：12,500 平方米",
        "证书编号 / No.：350100202611280001",
        SEAL_TEXT,
    ):
        assert expected in lines, (expected, lines)
    assert any(re.fullmatch(r"发证日期 / Issued：\d{4}-\d{2}-\d{2}", line) for line in lines)
    assert text.count("No.") == 1


def test_the_rendering_has_ink_exactly_where_the_text_is(cert: bytes, tmp_path: Path) -> None:
    dpi = 100
    scale = dpi / 72
    result = run("pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", data=cert, tmp=tmp_path)
    assert result.stderr == b""
    image = Image.open(io.BytesIO(result.stdout)).convert("L")
    font = certificate_font()

    def ink_columns(y: float, size: float) -> list[int]:
        """Columns (pixels) with ink between descender and ascender, inside the frame."""
        top, bottom = PAGE_HEIGHT - (y + 0.88 * size), PAGE_HEIGHT - (y - 0.12 * size)
        band = image.crop(
            (int(50 * scale), int(top * scale), int(545 * scale), int(bottom * scale))
        )
        return [
            int(50 * scale) + x
            for x in range(band.width)
            if min(band.crop((x, 0, x + 1, band.height)).tobytes()) < 128
        ]

    title_width = font.width("施工许可证 / Construction permit", 26)
    for text, x, y, size in (
        ("施工许可证 / Construction permit", (595.28 - title_width) / 2, PAGE_HEIGHT - 130, 26),
        ("持证人 / Holder：通行建设集团有限公司", 72, PAGE_HEIGHT - 210, 14),
        ("Project: Tongxing Tower, phase 1", 72, PAGE_HEIGHT - 268, 12),
        ("证书编号 / No.：TX-2025-000123", 72, PAGE_HEIGHT - 326, 12),
        ("发证日期 / Issued：2025-01-01", 72, PAGE_HEIGHT - 348, 12),
    ):
        columns = ink_columns(y, size)
        assert columns, text
        # The ink spans the advance the layout computed, less the glyphs' side bearings.
        assert columns[0] / scale == pytest.approx(x, abs=0.2 * size), text
        assert columns[-1] / scale == pytest.approx(x + font.width(text, size), abs=0.2 * size)

    # No gap inside "Holder" or "Issued" (non-embedded fonts with guessed widths gave "Hol der").
    for prefix, word, y, size in (
        ("持证人 / ", "Holder", PAGE_HEIGHT - 210, 14),
        ("发证日期 / ", "Issued", PAGE_HEIGHT - 348, 12),
    ):
        x0 = (72 + font.width(prefix, size)) * scale
        x1 = x0 + font.width(word, size) * scale
        inside = {c for c in ink_columns(y, size) if x0 <= c <= x1}
        blank = longest = 0
        for column in range(min(inside), max(inside) + 1):
            blank = 0 if column in inside else blank + 1
            longest = max(longest, blank)
        # Letters of 12-14 pt sit 1-3 px apart at 100 dpi; "Hol der" had 8.
        assert longest <= 4, (word, longest)


def test_readers_accept_it_strictly(cert3: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        reader = PdfFileReader(io.BytesIO(cert3), strict=True)
        assert reader.root["/Pages"]["/Count"] == 3
        assert len(reader.trailer["/ID"]) == 2
        pdf = pypdf.PdfReader(io.BytesIO(cert3), strict=True)
        assert len(pdf.pages) == 3
        assert SEAL_TEXT in pdf.pages[0].extract_text()
        assert "第 3 页 / Page 3" in pdf.pages[2].extract_text()
    assert [r.getMessage() for r in caplog.records] == []


def test_xref_offsets_are_exact(cert3: bytes) -> None:
    assert cert3.startswith(b"%PDF-1.7\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", cert3).group(1))  # type: ignore[union-attr]
    assert cert3[startxref:].startswith(b"xref\n0 ")
    entries = re.findall(rb"(\d{10}) 00000 n \n", cert3[startxref:])
    assert entries
    for number, offset in enumerate(entries, start=1):
        assert cert3[int(offset) :].startswith(b"%d 0 obj\n" % number)


def test_deterministic_and_input_sensitive(cert: bytes) -> None:
    assert make() == cert
    assert make(number="TX-2025-000124") != cert
    assert make(padding_bytes=1000) == make(padding_bytes=1000)


@pytest.mark.parametrize("padding", [50_000, 10_000_000])
def test_padding_sizes_and_is_incompressible(padding: int) -> None:
    data = make(padding_bytes=padding)
    assert padding <= len(data) <= padding + 25_000  # the rest: mostly the font subset
    assert len(zlib.compress(data, 1)) > 0.98 * padding
    pdf = pypdf.PdfReader(io.BytesIO(data))
    assert SEAL_TEXT in pdf.pages[0].extract_text()


@pytest.mark.parametrize(
    "kwargs",
    [{"pages": 0}, {"padding_bytes": -1}, {"holder": "\U0001f600"}, {"lines": ["a\nb"]}],
)
def test_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**kwargs)


# --- anchor ---------------------------------------------------------------------------------


def test_anchor_seal_text_exact(cert: bytes) -> None:
    # Drawn at baseline 130, right edge 505.28, 14 pt, four full-width glyphs; box spans the
    # descriptor's descent/ascent (-120/880).
    assert find_anchor(cert, SEAL_TEXT) == (0, 449.28, 128.32, 505.28, 142.32)


def test_anchor_ascii_in_the_embedded_font(cert: bytes, tmp_path: Path) -> None:
    found = find_anchor(cert, "Tongxing Tower")
    assert found is not None
    words = {w[0]: w for w in poppler_words(cert, tmp_path, 0)}
    assert found[1] == pytest.approx(words["Tongxing"][1], abs=0.5)
    comma = certificate_font().width(",", 12)
    assert found[3] == pytest.approx(words["Tower,"][3] - comma, abs=0.5)


def test_anchor_pages_and_misses(cert3: bytes) -> None:
    assert find_anchor(cert3, "Page 3") is not None
    assert find_anchor(cert3, "Page 3")[0] == 2  # type: ignore[index]
    assert find_anchor(cert3, "Page 3", page=1) is None
    assert find_anchor(cert3, SEAL_TEXT, page=0) is not None
    assert find_anchor(cert3, "不存在的文字") is None
    assert find_anchor(cert3, "（盖 章）") == find_anchor(cert3, SEAL_TEXT)  # whitespace-blind
    with pytest.raises(ValueError):
        find_anchor(cert3, "x", page=3)
    with pytest.raises(ValueError):
        find_anchor(cert3, "  ")


def test_anchor_combines_cm_tm_and_text_state() -> None:
    # Rotated 90° by cm, scaled by Tm, letter-spaced by Tc, shifted by a TJ offset.
    content = (
        b"q 0 1 -1 0 300 100 cm BT 2 0 0 2 10 0 Tm /F1 10 Tf 1 Tc"
        b" [<FF08> -500 <76D67AE0FF09>] TJ ET Q"
    )
    found = find_anchor(single_page_pdf(content), SEAL_TEXT)
    assert found is not None
    # Text space: 4 glyphs of 10 (+1 Tc between) and +5 from the TJ offset span 0..48; Tm
    # doubles that and adds 10; the rotated CTM puts it along the page's y axis from 110.
    # Across the baseline: ascent 8.8 / descent -1.2, doubled, mapped to x = 300 - y.
    assert found == pytest.approx((0, 300 - 2 * 8.8, 100 + 10, 300 + 2 * 1.2, 100 + 10 + 96))


def test_anchor_in_pyhanko_stamp_form_xobject(cert: bytes, tmp_path: Path) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(cert), strict=True)
    stamp = TextStamp(writer, TextStampStyle(stamp_text="STAMP-ANCHOR-42\nsecond line"))
    stamp.apply(0, 300, 400)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    stamped = out.getvalue()
    found = find_anchor(stamped, "STAMP-ANCHOR-42")
    word = next(w for w in poppler_words(stamped, tmp_path, 0) if w[0] == "STAMP-ANCHOR-42")
    assert found is not None
    assert found[1:] == pytest.approx(word[1:], abs=0.5)
    assert find_anchor(stamped, SEAL_TEXT) == find_anchor(cert, SEAL_TEXT)


@pytest.mark.skipif(shutil.which("pdftocairo") is None, reason="pdftocairo not installed")
def test_anchor_in_cairo_rewritten_pdf(cert3: bytes, tmp_path: Path) -> None:
    # cairo re-embeds subset fonts (Identity-H CFF, TrueType), flips the CTM and kerns with TJ.
    cairo = run("pdftocairo", "-pdf", data=cert3, tmp=tmp_path).stdout
    for page, needle in ((0, SEAL_TEXT), (0, "施工许可证"), (2, "Page")):
        found = find_anchor(cairo, needle, page=page)
        word = next(w for w in poppler_words(cairo, tmp_path, page) if w[0] == needle)
        assert found is not None and found[0] == page
        assert found[1:] == pytest.approx(word[1:], abs=0.5)


@pytest.mark.parametrize(
    "content",
    [
        b"BT /F1 12 Tf (abc",
        b"[ << >> ] TJ ))) ((",
        b"BT /F1 Tf Tj TJ ' \" Tm Td ET",
        b"q q Q Q Q Q 1 0 cm BT /F9 12 Tf (abc) Tj ET",
        b"BT /F2 nan Tf 1 0 0 0 0 0 Tm (abc) Tj ET /Pad Do /Nope Do",
        b"BT /F2 12 Tf [(a) 1e999 (bc)] TJ ET",
        b"\xff\xfe\x00garbage<<<<",
    ],
)
def test_anchor_malformed_content_is_none_or_valueerror(content: bytes) -> None:
    try:
        found = find_anchor(single_page_pdf(content), "abc")
    except ValueError:
        return
    # Text in an unknown font is still text: a finite box is an acceptable answer too.
    assert found is None or all(math.isfinite(v) for v in found)


def test_anchor_corrupted_files_only_raise_valueerror(cert: bytes) -> None:
    rng = random.Random(7)
    for bad in (b"", b"not a pdf", cert[:500], cert[:-40]):
        with contextlib.suppress(ValueError):
            find_anchor(bad, SEAL_TEXT)
    for _ in range(60):
        data = bytearray(cert)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with contextlib.suppress(ValueError):
            find_anchor(bytes(data), SEAL_TEXT)


# --- qr -------------------------------------------------------------------------------------


def test_qr_matrix_is_level_m_with_merged_runs() -> None:
    matrix = qr_matrix(URL)
    code = segno.make(URL, error="m", micro=False, boost_error=False)
    assert code.error == "M" and len(matrix) == code.symbol_size(border=0)[0]
    content = qr_content(matrix, x=10, y=20, size=100)
    assert content.startswith(b"q\n") and content.endswith(b"f\nQ\n")
    runs = sum(len(re.findall(r"1+", "".join("1" if c else "0" for c in row))) for row in matrix)
    assert content.count(b" re\n") == runs  # one rectangle per run, plus the "re f" background
    assert len(content) < 6000
    with pytest.raises(ValueError):
        qr_content(matrix, x=0, y=0, size=0)
    with pytest.raises(ValueError):
        qr_content([], x=0, y=0, size=10)


def test_qr_square_corner_rule() -> None:
    a4 = (0.0, 0.0, 595.28, 841.89)
    side = qr_side(qr_matrix(URL), module=QR_MODULE)
    assert qr_square(a4, side=side) == pytest.approx(
        (QR_MARGIN, QR_MARGIN, QR_MARGIN + side, QR_MARGIN + side)
    )
    cropped = (100.0, 50.0, 500.0, 700.0)  # the crop box, not the media box, decides
    assert qr_square(cropped, side=side)[:2] == pytest.approx((100 + QR_MARGIN, 50 + QR_MARGIN))
    seal_there = (QR_MARGIN + 10, QR_MARGIN + 10, QR_MARGIN + 130, QR_MARGIN + 130)
    moved = qr_square(a4, side=side, avoid=seal_there)
    assert moved == pytest.approx(
        (595.28 - QR_MARGIN - side, QR_MARGIN, 595.28 - QR_MARGIN, QR_MARGIN + side)
    )
    assert qr_square(a4, side=side, avoid=(300, 300, 400, 400))[0] == pytest.approx(QR_MARGIN)
    tiny = (0.0, 0.0, side + 20, side + 200)  # no room for the margins: centred, never shrunk
    assert qr_square(tiny, side=side) == pytest.approx((10, QR_MARGIN, 10 + side, QR_MARGIN + side))
    assert qr_side(qr_matrix(URL), module=1.0) == len(qr_matrix(URL)) + 2 * QUIET_ZONE


def test_qr_render_matches_segno_matrix(tmp_path: Path) -> None:
    x, y, size, dpi = 100.0, 500.0, 150.0, 200
    matrix = qr_matrix(URL)
    pdf = single_page_pdf(b"q 0.8 g 0 0 600 850 re f Q\n" + qr_content(matrix, x=x, y=y, size=size))
    # Render only the QR area (plus margin) to keep the test fast.
    scale = dpi / 72
    left, top = int((x - 10) * scale), int((PAGE_HEIGHT - y - size - 10) * scale)
    extent = int((size + 20) * scale)
    result = run(
        "pdftoppm",
        "-r",
        str(dpi),
        "-png",
        "-x",
        str(left),
        "-y",
        str(top),
        "-W",
        str(extent),
        "-H",
        str(extent),
        data=pdf,
        tmp=tmp_path,
    )
    image = Image.open(io.BytesIO(result.stdout)).convert("L")
    modules = len(matrix) + 2 * QUIET_ZONE
    unit = size / modules

    def pixel(col: float, row: float) -> int:
        px = (x + (col + 0.5) * unit) * scale - left
        py = (PAGE_HEIGHT - (y + size - (row + 0.5) * unit)) * scale - top
        value = image.getpixel((round(px), round(py)))
        assert isinstance(value, int)
        return value

    for r in range(modules):
        for c in range(modules):
            inside = min(r, c) >= QUIET_ZONE and max(r, c) < modules - QUIET_ZONE
            dark = inside and matrix[r - QUIET_ZONE][c - QUIET_ZONE]
            assert (pixel(c, r) < 100) == dark, (r, c)
    assert pixel(-2, -2) == pytest.approx(204, abs=3)  # grey page outside: quiet zone is painted


DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


@pytest.mark.skipif(not Path(DROID).is_file(), reason="fonts-droid-fallback not installed")
def test_a_font_without_latin_glyphs_is_refused_by_name_never_drawn_as_boxes() -> None:
    with pytest.raises(ValueError, match=r"DroidSansFallback has no glyph for U\+002F, U\+0043"):
        make(font=DROID)  # "/ Construction permit": the font has no Latin glyphs
