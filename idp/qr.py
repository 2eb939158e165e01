"""QR codes for the pages (a TOTP enrolment's ``otpauth://`` URI), as ``data:`` images the
page CSP allows (``img-src 'self' data:``): nothing is fetched, nothing leaves the server."""

from __future__ import annotations

import segno


def svg_data_uri(text: str, *, scale: int = 4) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI (medium error correction)."""
    code = segno.make(text, error="m", micro=False)
    uri: str = code.svg_data_uri(scale=scale, border=4, dark="#000", light="#fff")
    return uri
