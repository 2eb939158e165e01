"""What a sealed page looks like, rendered by poppler (``pdftoppm``), a renderer we did not
write: the red seal where the anchor was, the QR code in its corner (read back by zbar, a
decoder we did not write), the cross-page seal on every page's right edge."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from seal.anchor import find_anchor
from seal.appearance import QR_MODULE, qr_square
from seal.qr import QUIET_ZONE, qr_matrix, qr_side
from tests.backends import IN_CI
from tests.seal.world import World, make_world
from tongxing.demo_sealing import sample_permit
from tongxing.sample_certificate import PAGE_HEIGHT, PAGE_WIDTH

DPI = 72  # one pixel per point: page coordinates map straight to pixels


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        if IN_CI:
            raise RuntimeError(f"{tool} ({package}) is missing")
        pytest.skip(f"{tool} ({package}) is not installed")


def _render_files(pdf: bytes, tmp_path: Path, *, dpi: int = DPI) -> list[Path]:
    _require("pdftoppm", "poppler-utils")
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "sealed.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    return sorted(tmp_path.glob("page-*.png"))


def _render(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in _render_files(pdf, tmp_path)]


def _qr_square(world: World, document_id: str) -> tuple[float, float, float, float]:
    """Where the QR code of ``document_id`` should be on the (A4, unrotated) sample."""
    url = f"{world.domain.keys.custody.settings.issuer}/v/{document_id}"
    side = qr_side(qr_matrix(url), module=QR_MODULE)
    return qr_square((0, 0, PAGE_WIDTH, PAGE_HEIGHT), side=side)


def _pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.tobytes()
    return list(zip(data[0::3], data[1::3], data[2::3], strict=True))


def _red(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    """Share of seal-red pixels in ``box`` (PDF points, origin bottom-left)."""
    x0, y0, x1, y1 = box
    height = image.height
    crop = image.crop((int(x0), int(height - y1), int(x1), int(height - y0)))
    pixels = _pixels(crop)
    red = sum(1 for r, g, b in pixels if r > 180 and g < 110 and b < 110)
    return red / max(len(pixels), 1)


def _dark(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    crop = image.crop((int(x0), int(image.height - y1), int(x1), int(image.height - y0)))
    pixels = _pixels(crop)
    return sum(1 for r, g, b in pixels if r + g + b < 150) / max(len(pixels), 1)


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def test_the_stamp_qr_and_cross_page_seal_render(world: World, tmp_path: Path) -> None:
    original = sample_permit(pages=3)
    found = find_anchor(original, "（盖章）")
    assert found is not None
    page, ax0, ay0, ax1, ay1 = found
    cx, cy = (ax0 + ax1) / 2, (ay0 + ay1) / 2
    answer = world.sign(original, cross_page="true")
    assert answer.status_code == 200, answer.text

    before = _render(original, tmp_path / "before")
    after = _render(answer.content, tmp_path / "after")
    assert len(after) == 3
    seal_box = (cx - 50, cy - 50, cx + 50, cy + 50)  # inside the 42 mm (119 pt) seal
    assert _red(before[page], seal_box) < 0.01
    assert _red(after[page], seal_box) > 0.08  # ring, star and characters in seal red
    far_away = (60, 600, 200, 740)
    assert _red(after[page], far_away) < 0.01  # the seal is where the anchor was, only there

    qx0, qy0, qx1, qy1 = _qr_square(world, answer.headers["tongxing-document-id"])
    quiet = QUIET_ZONE * QR_MODULE
    qr_box = (qx0 + quiet, qy0 + quiet, qx1 - quiet, qy1 - quiet)
    assert _dark(before[0], qr_box) < 0.02
    assert 0.25 < _dark(after[0], qr_box) < 0.75  # a QR code is about half dark modules

    for image in after:  # a strip of the seal on the right edge of every page
        width, height = image.size
        edge = (width - 30, height / 2 - 55, width, height / 2 + 55)
        assert _red(image, edge) > 0.03


def test_a_generated_seal_image_is_round_red_and_transparent(world: World) -> None:
    image = world.client.get(f"/seal/v1/seals/{world.seal_id}/image")
    seal = Image.open(BytesIO(image.content))
    assert seal.mode == "RGBA" and seal.width == seal.height
    corner = seal.getpixel((2, 2))
    assert isinstance(corner, tuple) and corner[3] == 0  # transparent background
    ring = seal.getpixel((seal.width // 2, 6))
    assert isinstance(ring, tuple) and ring[0] > 180 and ring[3] > 200  # red ring at the top


def test_the_qr_code_scans_at_100_dpi_and_leads_to_the_verify_page(
    world: World, tmp_path: Path
) -> None:
    _require("zbarimg", "zbar-tools")
    answer = world.sign()
    assert answer.status_code == 200, answer.text
    document_id = answer.headers["tongxing-document-id"]
    [page] = _render_files(answer.content, tmp_path, dpi=100)
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True, timeout=60
    )
    assert decoded.returncode == 0, decoded.stderr  # 4: no code found
    issuer = world.domain.keys.custody.settings.issuer
    assert decoded.stdout.strip() == f"{issuer}/v/{document_id}"  # one code, the short link

    link = urlsplit(decoded.stdout.strip())
    hop = world.client.get(link.path, follow_redirects=False)
    assert hop.status_code == 302
    assert hop.headers["location"] == f"/verify?document={document_id}"
    arrived = world.client.get(link.path)
    assert arrived.status_code == 200
    assert "登记信息" in arrived.text and document_id in arrived.text  # our record of it


def _ink(image: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Pixels in ``box`` (PDF points at 72 dpi) that are not paper white, in any colour."""
    x0, y0, x1, y1 = box
    crop = image.crop((int(x0), int(image.height - y1), int(x1), int(image.height - y0)))
    return sum(1 for pixel in _pixels(crop) if min(pixel) < 235)


def test_the_qr_code_and_its_quiet_zone_stay_clear_of_the_certificate(
    world: World, tmp_path: Path
) -> None:
    original = sample_permit()
    answer = world.sign(original)
    assert answer.status_code == 200, answer.text
    [before] = _render(original, tmp_path / "before")
    [after] = _render(answer.content, tmp_path / "after")
    square = _qr_square(world, answer.headers["tongxing-document-id"])
    x0, y0, x1, y1 = square
    assert QUIET_ZONE == 4  # ISO/IEC 18004:2015 §9.1
    quiet = QUIET_ZONE * QR_MODULE

    # The dark modules are where the square says, 4 modules in from its edges.
    corner = after.crop((0, int(PAGE_HEIGHT - 300), 300, int(PAGE_HEIGHT)))
    dark = [
        (i % corner.width, i // corner.width)
        for i, (r, g, b) in enumerate(_pixels(corner))
        if r + g + b < 150
    ]
    left, right = min(x for x, _ in dark), max(x for x, _ in dark) + 1
    top, bottom = min(y for _, y in dark), max(y for _, y in dark) + 1
    assert left == pytest.approx(x0 + quiet, abs=1.5)
    assert right == pytest.approx(x1 - quiet, abs=1.5)
    assert 300 - bottom == pytest.approx(y0 + quiet, abs=1.5)
    assert 300 - top == pytest.approx(y1 - quiet, abs=1.5)

    # The quiet zone is white on the sealed page: no frame line, no text through it.
    for band in (
        (x0 + 1, y0 + 1, x1 - 1, y0 + quiet - 2),
        (x0 + 1, y1 - quiet + 2, x1 - 1, y1 - 1),
        (x0 + 1, y0 + 1, x0 + quiet - 2, y1 - 1),
        (x1 - quiet + 2, y0 + 1, x1 - 1, y1 - 1),
    ):
        assert _ink(after, band) == 0, band
    # Nothing of the certificate lay under the square (plus a module around it): the double
    # frame and the text are untouched, and the frame itself is still on the sealed page.
    margin = QR_MODULE
    assert _ink(before, (x0 - margin, y0 - margin, x1 + margin, y1 + margin)) == 0
    frame_strip = (30, y0, 48, y1)  # the frame's lines at 36 and 42 pt, beside the code
    assert _ink(after, frame_strip) == _ink(before, frame_strip) > 0
