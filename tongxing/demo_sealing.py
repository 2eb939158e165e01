"""Demo mode's sample certificate to seal: a 施工许可证 (construction permit) PDF with the
``（盖章）`` anchor where the bureau's seal goes (see the README tour)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response

from core.api.deps import SettingsDep
from tongxing.demo_data import BUREAU_NAME
from tongxing.sample_certificate import certificate_pdf

router = APIRouter(prefix="/demo", include_in_schema=False)


def sample_permit(*, pages: int = 1, padding_bytes: int = 0, font: str | None = None) -> bytes:
    """The demo construction permit (``padding_bytes`` makes it bigger, for benchmarks), set
    in ``font`` (a file) or the CJK font fontconfig finds."""
    return certificate_pdf(
        title="建筑工程施工许可证",
        holder="某某科技有限公司",
        lines=[
            "工程名称：某某科技研发中心（一期）",
            "建设地点：通行市高新区创新路 88 号",
            "建设规模：12,500 平方米",
            f"发证机关：{BUREAU_NAME}",
        ],
        number="350100202611280001",
        pages=pages,
        padding_bytes=padding_bytes,
        font=font,
        issued=datetime.now(UTC).strftime("%Y-%m-%d"),
    )


@router.get("/certificate.pdf")
def sample_certificate(settings: SettingsDep, pages: int = 1) -> Response:
    """The sample certificate (``?pages=3`` for a multi-page one, e.g. for 骑缝章), in the
    seal font when one is configured (``TONGXING_SEAL_FONT``)."""
    font = settings.seal_font or None
    return Response(
        sample_permit(pages=min(max(pages, 1), 20), font=font),
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="permit.pdf"'},
    )
