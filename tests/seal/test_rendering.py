"""What a sealed page looks like, rendered by poppler (``pdftoppm``), a renderer we did not
write: the red seal where the anchor was, the QR code in its corner, the cross-page seal on
every page's right edge."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from seal.anchor import find_anchor
from seal.appearance import QR_MARGIN, QR_SIZE
from tests.backends import IN_CI
from tests.seal.world import World, make_world
from tongxing.demo_sealing import sample_permit

DPI = 72  # one pixel per point: page coordinates map straight to pixels


def _render(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    if shutil.which("pdftoppm") is None:
        if IN_CI:
            raise RuntimeError("pdftoppm (poppler-utils) is missing")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "sealed.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob("page-*.png"))]


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

    qr_box = (QR_MARGIN + 2, QR_MARGIN + 2, QR_MARGIN + QR_SIZE - 2, QR_MARGIN + QR_SIZE - 2)
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
