"""What a seal looks like on the page: the stamp in the signature widget, the verification QR
code, and the cross-page seal (骑缝章) slices on the right edge of every page.

Images are compressed once per seal and process (``SealImage``) and written into each
document as ready-made image XObjects, so a seal costs no image encoding per document.
"""

from __future__ import annotations

import zlib
from io import BytesIO
from typing import Any

from PIL import Image
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.stamp import StaticStampStyle

from seal import qr, stamp_image
from seal.document import Box

MM = 72 / 25.4  # points per millimetre
# 0.75 mm is 3 pixels per module at 100 dpi; zbar stops decoding reliably below about 2.5
# (0.62 mm), so a 100-dpi scan or rendering of the page still reads. A typical link (version 4,
# 33 modules) makes a 30.75 mm square with its quiet zone.
QR_MODULE = 0.75 * MM
QR_MARGIN = 20 * MM


class SealImage:
    """A seal image as pre-compressed RGB + alpha planes, ready to become PDF XObjects."""

    def __init__(self, png: bytes) -> None:
        image = Image.open(BytesIO(png)).convert("RGBA")
        self.png = png
        self.width, self.height = image.size
        self._rgb = zlib.compress(image.convert("RGB").tobytes(), 6)
        self._alpha = zlib.compress(image.getchannel("A").tobytes(), 6)
        self._strips: dict[int, list[SealImage]] = {}

    def add_to(self, writer: Any) -> generic.IndirectObject:
        """Write the image (with its soft mask) into ``writer``; returns the XObject ref."""

        def plane(space: str, data: bytes, extra: dict[str, Any]) -> generic.IndirectObject:
            entries = {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Image"),
                pdf_name("/Width"): generic.NumberObject(self.width),
                pdf_name("/Height"): generic.NumberObject(self.height),
                pdf_name("/ColorSpace"): pdf_name(space),
                pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                pdf_name("/Filter"): pdf_name("/FlateDecode"),
                **extra,
            }
            stream = generic.StreamObject(generic.DictionaryObject(entries), encoded_data=data)
            return writer.add_object(stream)  # type: ignore[no-any-return]

        mask = plane("/DeviceGray", self._alpha, {})
        return plane("/DeviceRGB", self._rgb, {pdf_name("/SMask"): mask})

    def strips(self, count: int) -> list[SealImage]:
        """The image cut into ``count`` vertical strips, left to right (cached)."""
        if count not in self._strips:
            self._strips[count] = [SealImage(part) for part in stamp_image.slices(self.png, count)]
        return self._strips[count]


def _ink_state() -> generic.DictionaryObject:
    # Multiply: red ink darkens the print under it instead of hiding it, as on paper.
    return generic.DictionaryObject({pdf_name("/BM"): pdf_name("/Multiply")})


class _SealContent(content.PdfContent):
    """The seal image filling the signature widget."""

    def __init__(self, image: SealImage) -> None:
        super().__init__(box=layout.BoxConstraints(image.width, image.height))
        self.image = image

    def render(self) -> bytes:
        assert self.writer is not None
        self.set_resource(
            category=content.ResourceType.XOBJECT,
            name=pdf_name("/Seal"),
            value=self.image.add_to(self.writer),
        )
        self.set_resource(
            category=content.ResourceType.EXT_G_STATE, name=pdf_name("/Ink"), value=_ink_state()
        )
        return b"q /Ink gs %d 0 0 %d 0 0 cm /Seal Do Q" % (self.image.width, self.image.height)


def stamp_style(image: SealImage) -> StaticStampStyle:
    """The widget appearance: the seal image alone, scaled to the widget, no border."""
    return StaticStampStyle(
        background=_SealContent(image),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )


def _add_to_page(writer: Any, *, page: int, ops: bytes, resources: dict[str, Any]) -> None:
    # Wrap the page's own content in q/Q first: a page that leaves its graphics state
    # changed (a transformation, a clip) must not move or hide what we draw after it.
    opening = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
    writer.add_stream_to_page(page, opening, prepend=True)
    stream = generic.StreamObject(stream_data=b"Q\n" + ops)
    stream.compress()
    writer.add_stream_to_page(
        page, writer.add_object(stream), resources=generic.DictionaryObject(resources)
    )


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def qr_square(page_box: Box, *, side: float, avoid: Box | None = None) -> Box:
    """Where the QR code's square (quiet zone included) goes on a page whose visible area
    (crop box) is ``page_box``.

    The rule, for any PDF: the bottom-left corner of the crop box, :data:`QR_MARGIN` (20 mm)
    in from both edges. That is inside the usual page margin, clear of frames and borders
    (certificates draw them within the outer 15 mm: the sample's double frame ends 14.8 mm
    in) and of a printer's unprintable edge. If the seal (``avoid``) would cover that corner,
    the bottom-right corner instead. On a page too small for the margins, the square is
    centred in what is left; its module size never shrinks, since that decides whether the
    code scans.
    """
    x0, y0, x1, y1 = page_box
    margin_x = max(0.0, min(QR_MARGIN, (x1 - x0 - side) / 2))
    margin_y = max(0.0, min(QR_MARGIN, (y1 - y0 - side) / 2))
    left = (x0 + margin_x, y0 + margin_y, x0 + margin_x + side, y0 + margin_y + side)
    if avoid is None or not _overlaps(left, avoid):
        return left
    return (x1 - margin_x - side, y0 + margin_y, x1 - margin_x, y0 + margin_y + side)


def add_qr(writer: Any, *, page: int, url: str, page_box: Box, avoid: Box | None = None) -> Box:
    """The 扫码验真 QR code for ``url`` on ``page``, placed by :func:`qr_square` (away from
    the seal at ``avoid``); returns the square drawn."""
    matrix = qr.qr_matrix(url)
    square = qr_square(page_box, side=qr.qr_side(matrix, module=QR_MODULE), avoid=avoid)
    x0, y0, x1, _ = square
    ops = qr.qr_content(matrix, x=x0, y=y0, size=x1 - x0)
    _add_to_page(writer, page=page, ops=ops, resources={})
    return square


def add_cross_page_seal(
    writer: Any,
    *,
    image: SealImage,
    diameter: float,
    page_boxes: list[Box],
) -> None:
    """One strip of the seal on the right edge of each page, so the pages fanned out side
    by side show the whole seal (骑缝章)."""
    strips = image.strips(len(page_boxes))
    for page, (strip, box) in enumerate(zip(strips, page_boxes, strict=True)):
        _, y0, x1, y1 = box
        width = diameter * strip.width / image.width
        x, y = x1 - width, (y0 + y1) / 2 - diameter / 2
        # Unique names: pages may share (inherit) one resource dictionary.
        name, ink = f"/TxCrossSeal{page}", f"/TxInk{page}"
        ops = b"q %s gs %.3f 0 0 %.3f %.3f %.3f cm %s Do Q\n" % (
            ink.encode(),
            width,
            diameter,
            x,
            y,
            name.encode(),
        )
        _add_to_page(
            writer,
            page=page,
            ops=ops,
            resources={
                pdf_name("/XObject"): generic.DictionaryObject(
                    {pdf_name(name): strip.add_to(writer)}
                ),
                pdf_name("/ExtGState"): generic.DictionaryObject({pdf_name(ink): _ink_state()}),
            },
        )
