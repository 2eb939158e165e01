"""The verification QR code (扫码验真) as vector PDF operators (rectangles, no image XObject)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import segno

from seal import qr_code

__all__ = ["QUIET_ZONE", "qr_content", "qr_matrix", "qr_side"]

QUIET_ZONE = 4  # modules of white on every side (ISO/IEC 18004:2015 §9.1), painted by us


def qr_matrix(url: str) -> list[list[bool]]:
    """Dark-module matrix (True = dark), without quiet zone, error correction level M."""
    if not url:
        raise ValueError("url must not be empty")
    # The verification links of ordinary issuers fit versions 1–6: their layouts are
    # precomputed (seal/qr_code.py), the very symbol segno makes below in a quarter the time.
    fast = qr_code.matrix(url)
    if fast is not None:
        return fast
    # boost_error=False: segno would otherwise silently raise the level above M when it fits.
    # A fixed mask: any of the eight is a valid code for every reader; choosing the "best"
    # (ISO/IEC 18004 §7.8.3 penalty scoring) costs 3 ms per document for no reader's benefit.
    code = segno.make(url, error="m", micro=False, boost_error=False, mask=0)
    return [[bool(cell) for cell in row] for row in code.matrix]


def qr_side(matrix: Sequence[Sequence[bool]], *, module: float) -> float:
    """Side of the printed square, quiet zone included, for modules of ``module`` points."""
    return (len(matrix) + 2 * QUIET_ZONE) * module


def _fmt(value: float) -> bytes:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode("ascii")


def qr_content(matrix: Sequence[Sequence[bool]], *, x: float, y: float, size: float) -> bytes:
    """``q … Q`` operators drawing the QR code ``matrix`` with its bottom-left at (x, y).

    The square is ``size`` points wide including the white quiet zone of :data:`QUIET_ZONE`
    modules, painted so the code reads on any background. Each horizontal run of dark modules
    is one ``re``, so the stream stays small (a few KB for typical URLs).
    """
    if not all(math.isfinite(v) for v in (x, y, size)) or size <= 0:
        raise ValueError("x, y and size must be finite and size positive")
    if not matrix:
        raise ValueError("matrix must not be empty")
    modules = len(matrix) + 2 * QUIET_ZONE
    # Drawing in module units under one `cm` keeps every coordinate a small integer.
    unit = size / modules
    ops = [
        b"q",
        b"%s 0 0 %s %s %s cm" % (_fmt(unit), _fmt(unit), _fmt(x), _fmt(y)),
        b"1 g 0 0 %d %d re f" % (modules, modules),
        b"0 g",
    ]
    rects: list[bytes] = []
    for row_index, row in enumerate(matrix):
        row_y = modules - QUIET_ZONE - 1 - row_index  # row 0 is the top row
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            rects.append(b"%d %d %d 1 re" % (start + QUIET_ZONE, row_y, col - start))
    # A single fill for all rectangles: one path, nonzero rule; runs never overlap.
    ops.extend(rects)
    ops += [b"f", b"Q"]
    return b"\n".join(ops) + b"\n"
