"""The landing page: what this deployment offers, in the visitor's language (zh-CN first)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from PIL import Image, ImageDraw

from core.api.deps import SettingsDep
from core.i18n import pick_language, remember_choice

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

TEXT = {
    "zh-CN": {
        "brand": "通行 Tongxing",
        "title": "通行 · 统一身份认证与电子印章服务",
        "tagline": "一次认证，全程通行",
        "intro": "本服务为全市政务应用提供统一登录（OpenID Connect）、电子印章和可验证的审计日志。",
        "people": "办事群众与企业",
        "verify": "验证盖章文件（上传 PDF 或扫描证照上的二维码）",
        "account": "我的账户（会话与已连接的应用）",
        "demo_permits": "演示应用：施工许可",
        "demo_housing": "演示应用：住房保障",
        "demo_cas": "演示应用：档案查询（CAS 3.0 旧系统）",
        "demo_certificate": "示例证照（未盖章的 PDF）",
        "apps": "接入的应用与系统",
        "discovery": "OpenID Connect 配置",
        "jwks": "令牌签名公钥（JWKS）",
        "openapi": "接口说明（OpenAPI）",
        "auditors": "审计人员",
        "checkpoint": "审计日志的最新签名检查点",
        "log_key": "审计日志的签名公钥",
        "root": "根证书（PEM）",
        "crl": "印章证书吊销列表（CRL）",
        "operators": "运维人员",
        "ready": "服务就绪检查",
        "mode_demo": "演示模式：数据与密钥仅用于体验，请勿用于生产。",
        "switch": "English",
    },
    "en": {
        "brand": "Tongxing 通行",
        "title": "Tongxing · Identity and electronic-seal service",
        "tagline": "Authenticate once, pass everywhere",
        "intro": "Single sign-on (OpenID Connect), electronic seals and a verifiable audit log "
        "for the city's government apps.",
        "people": "Citizens and enterprises",
        "verify": "Verify a sealed document (upload the PDF or scan its QR code)",
        "account": "My account (sessions and connected apps)",
        "demo_permits": "Demo app: building permits",
        "demo_housing": "Demo app: housing",
        "demo_cas": "Demo app: records (a legacy CAS 3.0 app)",
        "demo_certificate": "Sample certificate (an unsealed PDF)",
        "apps": "Connected apps and systems",
        "discovery": "OpenID Connect configuration",
        "jwks": "Token-signing keys (JWKS)",
        "openapi": "API description (OpenAPI)",
        "auditors": "Auditors",
        "checkpoint": "The audit log's latest signed checkpoint",
        "log_key": "The audit log's signing key",
        "root": "Root CA certificate (PEM)",
        "crl": "Seal certificates' revocation list (CRL)",
        "operators": "Operators",
        "ready": "Readiness check",
        "mode_demo": "Demo mode: data and keys are for trying things out, never for production.",
        "switch": "中文",
    },
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The landing page."""
    lang = pick_language(request)
    response = templates.TemplateResponse(
        request,
        "home.html",
        {
            "lang": lang,
            "other_lang": "en" if lang == "zh-CN" else "zh-CN",
            "t": TEXT[lang],
            "demo": settings.mode.value == "demo",
        },
        headers={"Content-Language": lang, "Vary": "Accept-Language, Cookie"},
    )
    remember_choice(request, response)
    return response


@functools.cache
def _favicon() -> bytes:
    """A red seal-like ring, 32 px, drawn once per process (browsers ask every page)."""
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((2, 2, 29, 29), outline=(183, 28, 28, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@router.get("/favicon.ico")
def favicon() -> Response:
    """The site icon (a PNG; browsers accept one at this path)."""
    return Response(
        _favicon(), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )
