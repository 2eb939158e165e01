"""The landing page: what this deployment offers, in the visitor's language (zh-CN first)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from core.api.deps import SettingsDep
from core.i18n import pick_language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

TEXT = {
    "zh-CN": {
        "title": "通行 · 统一身份认证与电子印章服务",
        "tagline": "一次认证，全程通行",
        "intro": "本服务为全市政务应用提供统一登录（OpenID Connect）、电子印章和可验证的审计日志。",
        "links": "常用入口",
        "openapi": "接口说明（OpenAPI）",
        "ready": "服务就绪检查",
        "mode_demo": "演示模式：数据与密钥仅用于体验，请勿用于生产。",
        "switch": "English",
        "demo_permits": "演示应用：施工许可",
        "demo_housing": "演示应用：住房保障",
        "account": "我的账户（会话与已授权应用）",
        "discovery": "OpenID Connect 配置",
    },
    "en": {
        "title": "Tongxing · Identity and electronic-seal service",
        "tagline": "Authenticate once, pass everywhere",
        "intro": "Single sign-on (OpenID Connect), electronic seals and a verifiable audit log "
        "for the city's government apps.",
        "links": "Start here",
        "openapi": "API description (OpenAPI)",
        "ready": "Readiness check",
        "mode_demo": "Demo mode: data and keys are for trying things out, never for production.",
        "switch": "中文",
        "demo_permits": "Demo app: building permits",
        "demo_housing": "Demo app: housing",
        "account": "My account (sessions and connected apps)",
        "discovery": "OpenID Connect configuration",
    },
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The landing page."""
    lang = pick_language(request)
    return templates.TemplateResponse(
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
