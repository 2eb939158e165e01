"""Tests for seal font discovery, seal rendering and uploaded-seal validation."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from seal import fonts, stamp_image
from seal.stamp_image import ImageError

SIZE = 600


@pytest.fixture(scope="module")
def font_path() -> str:
    return fonts.find_cjk_font(None)


@pytest.fixture(scope="module")
def seal_png(font_path: str) -> bytes:
    return stamp_image.round_seal_png(
        organisation="某某科技有限公司",
        seal_type="合同专用章",
        font_path=font_path,
        size_px=SIZE,
        code="3501000001234",
    )


@pytest.fixture(scope="module")
def seal(seal_png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(seal_png))
    img.load()
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _ink(img: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Count clearly inked pixels in a box given as fractions of the image side."""
    left, top, right, bottom = (round(v * img.width) for v in box)
    return sum(img.getchannel("A").crop((left, top, right, bottom)).histogram()[128:])


def _alpha(img: Image.Image, xy: tuple[int, int]) -> int:
    value = img.getchannel("A").getpixel(xy)
    assert isinstance(value, int)
    return value


def test_seal_is_rgba_png_with_transparent_corners(seal_png: bytes, seal: Image.Image) -> None:
    assert seal_png.startswith(b"\x89PNG\r\n\x1a\n")
    assert seal.mode == "RGBA"
    assert seal.size == (SIZE, SIZE)
    for xy in [(0, 0), (SIZE - 1, 0), (0, SIZE - 1), (SIZE - 1, SIZE - 1)]:
        assert _alpha(seal, xy) == 0


def test_seal_has_many_red_pixels(seal: Image.Image) -> None:
    # Every pixel carries the ink colour; only alpha varies.
    for band, value in zip("RGB", stamp_image.RED, strict=True):
        assert seal.getchannel(band).getextrema() == (value, value)
    assert _ink(seal, (0, 0, 1, 1)) > 0.15 * SIZE * SIZE


def test_ring_is_at_expected_radius(seal: Image.Image) -> None:
    # Ring: outer edge 1% inside the border, width 1/25 of the diameter.
    r_mid = SIZE * (0.5 - 0.01 - 1 / 50)
    c = SIZE / 2
    for deg in range(0, 360, 5):
        t = math.radians(deg)
        xy = (round(c + r_mid * math.sin(t)), round(c - r_mid * math.cos(t)))
        assert _alpha(seal, xy) == 255, deg
    # Just outside the ring is clear.
    r_out = SIZE * 0.497
    assert _alpha(seal, (round(c), round(c - r_out))) == 0


def test_name_star_type_and_code_have_ink(seal: Image.Image) -> None:
    assert _ink(seal, (0.3, 0.06, 0.7, 0.3)) > 2000  # organisation name, top arc
    assert _alpha(seal, (SIZE // 2, SIZE // 2)) == 255  # star centre
    assert _ink(seal, (0.4, 0.4, 0.6, 0.6)) > 0.5 * (0.2 * SIZE) ** 2
    assert _ink(seal, (0.25, 0.68, 0.75, 0.81)) > 1000  # seal type under the star
    assert _ink(seal, (0.3, 0.83, 0.7, 0.9)) > 300  # code on the lower arc


def test_rendering_is_deterministic(font_path: str) -> None:
    kwargs = {"organisation": "某某公司", "seal_type": "公章", "font_path": font_path}
    assert stamp_image.round_seal_png(size_px=200, **kwargs) == stamp_image.round_seal_png(
        size_px=200, **kwargs
    )


def test_missing_glyph_raises_font_error(font_path: str) -> None:
    with pytest.raises(fonts.FontError, match=r"U\+10FFFD"):
        stamp_image.round_seal_png(
            organisation="某某\U0010fffd公司", seal_type="公章", font_path=font_path
        )


def test_configured_font_must_exist() -> None:
    missing = "/nonexistent/tongxing/seal-font.ttf"
    with pytest.raises(fonts.FontError, match=r"seal-font\.ttf"):
        fonts.find_cjk_font(missing)


def test_configured_font_that_is_not_a_font(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(fonts.FontError, match="cannot read font"):
        fonts.check_glyphs(fonts.find_cjk_font(str(bogus)), "公")


def test_upload_accepts_generated_seal(seal_png: bytes) -> None:
    out = stamp_image.check_uploaded_png(seal_png)
    img = Image.open(io.BytesIO(out))
    assert img.format == "PNG"
    assert img.mode == "RGBA"
    assert img.size == (SIZE, SIZE)
    assert img.tobytes() == Image.open(io.BytesIO(seal_png)).tobytes()


def test_upload_strips_metadata(seal: Image.Image) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret")
    buf = io.BytesIO()
    seal.save(buf, format="PNG", pnginfo=info)
    out = stamp_image.check_uploaded_png(buf.getvalue())
    assert b"secret" not in out


def test_upload_accepts_palette_with_transparency(seal: Image.Image) -> None:
    pal = seal.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = pal.getpixel((0, 0))
    out = stamp_image.check_uploaded_png(_png(pal))
    assert Image.open(io.BytesIO(out)).mode == "RGBA"


def test_upload_rejects_jpeg(seal: Image.Image) -> None:
    buf = io.BytesIO()
    seal.convert("RGB").save(buf, format="JPEG")
    with pytest.raises(ImageError, match="not a PNG"):
        stamp_image.check_uploaded_png(buf.getvalue())


def test_upload_rejects_opaque_white_background() -> None:
    with pytest.raises(ImageError, match="no transparency"):
        stamp_image.check_uploaded_png(_png(Image.new("RGB", (200, 200), "white")))
    with pytest.raises(ImageError, match="background is not transparent"):
        stamp_image.check_uploaded_png(_png(Image.new("RGBA", (200, 200), "white")))


def test_upload_rejects_random_bytes() -> None:
    noise = hashlib.shake_256(b"tongxing").digest(5000)
    with pytest.raises(ImageError, match="not a PNG"):
        stamp_image.check_uploaded_png(noise)
    with pytest.raises(ImageError, match="not a readable PNG"):
        stamp_image.check_uploaded_png(b"\x89PNG\r\n\x1a\n" + noise)


def test_upload_rejects_thin_image() -> None:
    with pytest.raises(ImageError, match="not square"):
        stamp_image.check_uploaded_png(_png(Image.new("RGBA", (1, 1000), (0, 0, 0, 0))))


def test_upload_rejects_oversize(seal_png: bytes) -> None:
    with pytest.raises(ImageError, match="too big"):
        stamp_image.check_uploaded_png(seal_png, max_bytes=1000)
    with pytest.raises(ImageError, match="too big"):
        stamp_image.check_uploaded_png(seal_png, max_side=500)


def test_upload_rejects_decompression_bomb_header() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 6, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageError, match="too big"):
        stamp_image.check_uploaded_png(bomb)


def test_upload_rejects_empty_image() -> None:
    with pytest.raises(ImageError, match="empty"):
        stamp_image.check_uploaded_png(b"")
    with pytest.raises(ImageError, match="empty"):
        stamp_image.check_uploaded_png(_png(Image.new("RGBA", (200, 200), (0, 0, 0, 0))))


def test_slices_cover_the_width(seal_png: bytes) -> None:
    parts = stamp_image.slices(seal_png, 3)
    assert len(parts) == 3
    imgs = [Image.open(io.BytesIO(p)) for p in parts]
    assert sum(i.width for i in imgs) == SIZE
    assert all(i.height == SIZE and i.mode == "RGBA" for i in imgs)
    # Strips are in left-to-right order: reassembled they equal the original.
    whole = Image.new("RGBA", (SIZE, SIZE))
    x = 0
    for img in imgs:
        whole.paste(img, (x, 0))
        x += img.width
    assert whole.tobytes() == Image.open(io.BytesIO(seal_png)).tobytes()


def test_missing_fontconfig_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    fonts._discover_cjk_font.cache_clear()
    try:
        with pytest.raises(fonts.FontError, match=r"fonts-noto-cjk.*TONGXING_SEAL_FONT"):
            fonts.find_cjk_font(None)
    finally:
        fonts._discover_cjk_font.cache_clear()


def test_a_missing_seal_font_stops_the_demo_with_one_clear_line(tmp_path: Path) -> None:
    from core.settings import load_settings
    from tongxing.preflight import StartupError, check_seal_font

    settings = load_settings({}, mode="demo", data_dir=str(tmp_path), seal_font="/no/font.ttc")
    with pytest.raises(StartupError, match=r"^TONGXING_SEAL_FONT: .*/no/font.ttc"):
        check_seal_font(settings)
    check_seal_font(load_settings({}, mode="demo", data_dir=str(tmp_path)))  # fontconfig finds one
