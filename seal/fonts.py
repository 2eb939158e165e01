"""Locate a CJK font for seal rendering and make sure it covers the text to be drawn."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from fontTools.ttLib import TTCollection, TTFont, TTLibError

_INSTALL_HINT = (
    "no CJK font found: install the Debian package fonts-noto-cjk "
    "or set TONGXING_SEAL_FONT to a font file"
)
_FC_TIMEOUT_S = 5.0
_COLLECTION_SUFFIXES = (".ttc", ".otc")


class FontError(RuntimeError):
    """The seal font is missing, unreadable or lacks a glyph."""


def find_cjk_font(configured: str | None, *, style: str = "Bold") -> str:
    """Return the configured font file, or one discovered with fontconfig, preferably in
    ``style`` (Bold for seals, Regular for running text)."""
    if configured:
        if not os.path.isfile(configured):
            raise FontError(f"configured seal font {configured!r} does not exist or is not a file")
        return configured
    return _discover_cjk_font(style)


@functools.lru_cache(maxsize=4)
def _discover_cjk_font(style: str = "Bold") -> str:
    if shutil.which("fc-match") is None or shutil.which("fc-list") is None:
        raise FontError(f"fontconfig (fc-match/fc-list) is not installed; {_INSTALL_HINT}")
    zh_files = _fc_list_zh()
    best = _run_fc(["fc-match", "-f", "%{file}", f":lang=zh-cn:style={style}"]).strip()
    # fc-match always answers with *some* font (e.g. DejaVu) even when no CJK font is
    # installed, so only trust it when fontconfig also lists that file as covering Chinese.
    if best and best in zh_files and os.path.isfile(best):
        return best
    candidates = sorted(
        (f for f in zh_files if os.path.isfile(f)),
        key=functools.partial(_preference, style=style.lower()),
    )
    if not candidates:
        raise FontError(_INSTALL_HINT)
    return candidates[0]


def _fc_list_zh() -> set[str]:
    out = _run_fc(["fc-list", ":lang=zh", "file"])
    files: set[str] = set()
    for line in out.splitlines():
        # fc-list prints "path: " per line; paths may themselves contain colons.
        path = line.strip().removesuffix(":").strip()
        if path:
            files.add(path)
    return files


def _preference(path: str, *, style: str) -> tuple[int, int, int, str]:
    name = os.path.basename(path).lower()
    return (
        0 if style in name else 1,
        0 if "cjk" in name else 1,
        0 if ("serif" in name or "sans" in name) else 1,
        path,
    )


def _run_fc(argv: list[str]) -> str:
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, capture_output=True, text=True, timeout=_FC_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FontError(f"running {argv[0]} failed ({exc}); {_INSTALL_HINT}") from exc
    if proc.returncode != 0:
        return ""
    return proc.stdout


@functools.lru_cache(maxsize=32)
def _cmap(path: str, font_index: int) -> frozenset[int]:
    try:
        # Open the file ourselves: TTFont leaks its handle when parsing fails in __init__.
        with open(path, "rb") as fh, TTFont(fh, fontNumber=font_index, lazy=True) as font:
            best = font.getBestCmap()
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise FontError(f"cannot read font {path!r} (face {font_index}): {exc}") from exc
    if not best:
        raise FontError(f"font {path!r} (face {font_index}) has no Unicode character map")
    return frozenset(best)


def check_glyphs(path: str, text: str, *, font_index: int = 0) -> None:
    """Raise FontError if the font cannot draw every non-space character of text."""
    cmap = _cmap(path, font_index)
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})
    if missing:
        listed = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing)
        raise FontError(f"font {os.path.basename(path)!r} has no glyph for: {listed}")


@functools.lru_cache(maxsize=32)
def preferred_face_index(path: str, *, region: str = "SC") -> int:
    """Index of the face in a font collection whose family ends in region (e.g. "SC"), else 0.

    Pan-CJK collections such as Noto CJK put the Japanese face first; Simplified Chinese
    glyph shapes are what a mainland seal must show.
    """
    if not path.lower().endswith(_COLLECTION_SUFFIXES):
        return 0
    try:
        with open(path, "rb") as fh:
            collection = TTCollection(fh, lazy=True)
            for index, face in enumerate(collection.fonts):
                family = face["name"].getDebugName(1) or ""
                if family.endswith(f" {region}"):
                    return index
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise FontError(f"cannot read font collection {path!r}: {exc}") from exc
    return 0
