"""Render the round red official seal (公章) as a transparent PNG and vet uploaded seal images."""

from __future__ import annotations

import io
import math
import struct

from PIL import Image, ImageDraw, ImageFont

from seal import fonts

RED: tuple[int, int, int] = (230, 0, 18)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Everything is drawn at this multiple of the output size and box-reduced at the end:
# Pillow's ellipse and polygon primitives are not anti-aliased on their own.
_SUPERSAMPLE = 4
_MIN_SIZE_PX = 64
_MAX_SIZE_PX = 4000
_MIN_UPLOAD_SIDE = 32
_MAX_CODE_LEN = 24

# Geometry as fractions of the diameter.
_MARGIN = 0.01
_RING_WIDTH = 1 / 25
_STAR_DIAMETER = 1 / 3.3
_NAME_GAP = 0.025
_NAME_MAX_EM = 0.165
_CODE_GAP = 0.02
_CODE_EM = 0.052
_CODE_MAX_SPAN_DEG = 80.0
_TYPE_EM = 0.105
_TYPE_CENTRE_Y = 0.25
_TYPE_MAX_WIDTH = 0.50
_MIN_XSCALE = 0.55


class ImageError(ValueError):
    """An uploaded seal image is unusable."""


def round_seal_png(
    *,
    organisation: str,
    seal_type: str,
    font_path: str,
    size_px: int = 600,
    code: str | None = None,
) -> bytes:
    """Draw a round red seal: ring, name on the upper arc, star, seal type, optional code."""
    organisation = organisation.strip()
    seal_type = seal_type.strip()
    if not organisation:
        raise ValueError("organisation name must not be empty")
    if not seal_type:
        raise ValueError("seal type must not be empty")
    if not _MIN_SIZE_PX <= size_px <= _MAX_SIZE_PX:
        raise ValueError(f"size_px must be between {_MIN_SIZE_PX} and {_MAX_SIZE_PX}")
    if code is not None:
        code = code.strip()
        if not (code.isascii() and code.isdigit() and len(code) <= _MAX_CODE_LEN):
            raise ValueError(f"seal code must be 1 to {_MAX_CODE_LEN} ASCII digits")

    face = fonts.preferred_face_index(font_path)
    fonts.check_glyphs(font_path, organisation + seal_type + (code or ""), font_index=face)

    d = size_px * _SUPERSAMPLE
    mask = Image.new("L", (d, d), 0)
    draw = ImageDraw.Draw(mask)
    c = d / 2
    r_outer = c - d * _MARGIN
    r_inner = r_outer - d * _RING_WIDTH
    draw.ellipse((c - r_outer, c - r_outer, c + r_outer, c + r_outer), fill=255)
    draw.ellipse((c - r_inner, c - r_inner, c + r_inner, c + r_inner), fill=0)

    star_r = d * _STAR_DIAMETER / 2
    _draw_star(draw, centre=(c, c), radius=star_r)
    _draw_name(
        mask, text=organisation, font_path=font_path, face=face, r_edge=r_inner - d * _NAME_GAP
    )
    _draw_seal_type(mask, text=seal_type, font_path=font_path, face=face)
    if code:
        _draw_code(mask, text=code, font_path=font_path, face=face, r_edge=r_inner - d * _CODE_GAP)

    alpha = mask.reduce(_SUPERSAMPLE)
    # Transparent pixels keep the ink colour so that any later non-premultiplied scaling
    # (PDF viewers, browsers) blends edges towards red rather than towards black.
    out = Image.new("RGBA", alpha.size, (*RED, 0))
    out.putalpha(alpha)
    return _encode(out)


def _font(path: str, face: int, em: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(1, round(em)), index=face)


def _glyph_tile(ch: str, *, font: ImageFont.FreeTypeFont, em: float, xscale: float) -> Image.Image:
    side = math.ceil(em * 1.3)
    tile = Image.new("L", (side, side), 0)
    ImageDraw.Draw(tile).text((side / 2, side / 2), ch, fill=255, font=font, anchor="mm")
    if xscale < 1:
        tile = tile.resize((max(1, round(side * xscale)), side), Image.Resampling.LANCZOS)
    return tile


def _paste_centred(mask: Image.Image, tile: Image.Image, x: float, y: float) -> None:
    mask.paste(255, (round(x - tile.width / 2), round(y - tile.height / 2)), tile)


def _draw_star(draw: ImageDraw.ImageDraw, *, centre: tuple[float, float], radius: float) -> None:
    cx, cy = centre
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else inner
        a = math.radians(i * 36)
        points.append((cx + r * math.sin(a), cy - r * math.cos(a)))
    draw.polygon(points, fill=255)


def _name_span_deg(n: int) -> float:
    if n <= 1:
        return 0.0
    if n < 5:
        # Very short names would look scattered if spread over the usual 210 degrees.
        return 45.0 * (n - 1)
    return 210.0 + 30.0 * min(1.0, (n - 5) / 13)


def _draw_name(mask: Image.Image, *, text: str, font_path: str, face: int, r_edge: float) -> None:
    d = mask.width
    n = len(text)
    span = _name_span_deg(n)
    step = math.radians(span / (n - 1)) if n > 1 else 0.0
    em = d * _NAME_MAX_EM
    xscale = 1.0
    for _ in range(6):
        r_text = r_edge - em / 2
        if n == 1:
            break
        # Neighbouring glyphs first touch at their inner corners, so size by the pitch there.
        pitch = (r_text - em / 4) * step * 0.9
        xscale = min(1.0, pitch / em)
        if xscale < _MIN_XSCALE:
            em = pitch / _MIN_XSCALE
            xscale = _MIN_XSCALE
    r_text = r_edge - em / 2
    font = _font(font_path, face, em)
    c = d / 2
    for i, ch in enumerate(text):
        theta = -span / 2 + (span / (n - 1) * i if n > 1 else 0.0)
        tile = _glyph_tile(ch, font=font, em=em, xscale=xscale)
        tile = tile.rotate(-theta, resample=Image.Resampling.BICUBIC, expand=True)
        t = math.radians(theta)
        _paste_centred(mask, tile, c + r_text * math.sin(t), c - r_text * math.cos(t))


def _draw_seal_type(mask: Image.Image, *, text: str, font_path: str, face: int) -> None:
    d = mask.width
    em = d * _TYPE_EM
    font = _font(font_path, face, em)
    width = font.getlength(text)
    max_width = d * _TYPE_MAX_WIDTH
    xscale = 1.0
    if width > max_width:
        xscale = max_width / width
        if xscale < _MIN_XSCALE:
            em *= xscale / _MIN_XSCALE
            xscale = _MIN_XSCALE
            font = _font(font_path, face, em)
            width = font.getlength(text)
    tile = Image.new("L", (math.ceil(width + em), math.ceil(em * 1.3)), 0)
    ImageDraw.Draw(tile).text(
        (tile.width / 2, tile.height / 2), text, fill=255, font=font, anchor="mm"
    )
    if xscale < 1:
        tile = tile.resize(
            (max(1, round(tile.width * xscale)), tile.height), Image.Resampling.LANCZOS
        )
    _paste_centred(mask, tile, d / 2, d / 2 + d * _TYPE_CENTRE_Y)


def _draw_code(mask: Image.Image, *, text: str, font_path: str, face: int, r_edge: float) -> None:
    d = mask.width
    em = d * _CODE_EM
    font = _font(font_path, face, em)
    # Digits face the centre, so their outer side is the baseline side of the glyph.
    r_code = r_edge - em / 2
    pitch = font.getlength("0") * 1.15
    step_deg = math.degrees(pitch / r_code)
    if step_deg * (len(text) - 1) > _CODE_MAX_SPAN_DEG:
        # Long codes would run into the ends of the organisation name: shrink them instead.
        shrink = _CODE_MAX_SPAN_DEG / (step_deg * (len(text) - 1))
        em *= shrink
        font = _font(font_path, face, em)
        r_code = r_edge - em / 2
        step_deg = math.degrees(font.getlength("0") * 1.15 / r_code)
    span = step_deg * (len(text) - 1)
    c = d / 2
    for i, ch in enumerate(text):
        # Reading left to right along the bottom means going anticlockwise from lower left.
        theta = 180.0 + span / 2 - step_deg * i
        tile = _glyph_tile(ch, font=font, em=em, xscale=1.0)
        tile = tile.rotate(180.0 - theta, resample=Image.Resampling.BICUBIC, expand=True)
        t = math.radians(theta)
        _paste_centred(mask, tile, c + r_code * math.sin(t), c - r_code * math.cos(t))


def _encode(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def check_uploaded_png(data: bytes, *, max_bytes: int = 2_000_000, max_side: int = 4000) -> bytes:
    """Validate an uploaded seal image and return it re-encoded as a metadata-free RGBA PNG."""
    if not data:
        raise ImageError("the uploaded file is empty")
    if len(data) > max_bytes:
        raise ImageError(f"the image is too big: {len(data)} bytes (limit {max_bytes})")
    if not data.startswith(_PNG_SIGNATURE):
        raise ImageError("the file is not a PNG image")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
            _check_dimensions(probe.size, max_side=max_side)
            probe.verify()
        with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
            _check_dimensions(img.size, max_side=max_side)
            if getattr(img, "n_frames", 1) > 1:
                raise ImageError("animated PNGs are not accepted as seal images")
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            if not has_alpha:
                raise ImageError(
                    "the image has no transparency: save the seal as a PNG with an alpha channel"
                )
            rgba = img.convert("RGBA")
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError("the image is too big (pixel count exceeds the safety limit)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(f"the file is not a readable PNG image ({exc})") from exc

    w, h = rgba.size
    alpha = rgba.getchannel("A")
    corners = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
    if any(alpha.getpixel(p) != 0 for p in corners):
        raise ImageError("the background is not transparent: the image corners must be clear")
    hist = alpha.histogram()
    total = w * h
    if hist[0] < 0.3 * total:
        raise ImageError("the background is not transparent: under 30% of pixels are clear")
    if sum(hist[128:]) < 0.005 * total:
        raise ImageError("the image is empty: no visible seal ink found")
    # A fresh image carries no text chunks, ICC profile or EXIF from the upload.
    clean = Image.frombytes("RGBA", rgba.size, rgba.tobytes())
    return _encode(clean)


def _check_dimensions(size: tuple[int, int], *, max_side: int) -> None:
    w, h = size
    # Checked from the header before any pixel is decoded: guards against decompression bombs.
    if w > max_side or h > max_side or w * h > max_side * max_side:
        raise ImageError(f"the image is too big: {w}x{h} pixels (limit {max_side} per side)")
    if not 0.8 <= w / h <= 1.25:
        raise ImageError(f"the image is not square enough: {w}x{h} pixels")
    if min(w, h) < _MIN_UPLOAD_SIDE:
        raise ImageError(f"the image is too small: {w}x{h} pixels (minimum {_MIN_UPLOAD_SIDE})")


def slices(png: bytes, count: int) -> list[bytes]:
    """Cut a seal image into count equal vertical strips, left to right, for a cross-page seal."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with Image.open(io.BytesIO(png), formats=["PNG"]) as img:
        img.load()
        w, h = img.size
        if count > w:
            raise ValueError(f"cannot cut a {w}-pixel-wide image into {count} strips")
        edges = [round(i * w / count) for i in range(count + 1)]
        return [_encode(img.crop((edges[i], 0, edges[i + 1], h))) for i in range(count)]
