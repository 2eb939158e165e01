"""The console's words for upstream providers (federation; merged into TEXT)."""

from __future__ import annotations

from typing import Any

ZH: dict[str, Any] = {
    "upstreams_title": "上级身份认证平台",
    "upstreams_intro": "人们可通过以下上级平台（如省统一身份认证平台）登录。"
    "用命令 tongxing upstreams create 或接口 /admin/v1/upstreams 登记新平台。",
    "upstream_id": "标识",
    "upstream_name": "名称",
    "upstream_issuer": "签发者",
    "upstream_trust": "信任身份证号（核验等级）",
    "upstream_disable": "停用",
    "upstream_enable": "启用",
    "upstream_disabled": "已停用",
    "upstream_enabled": "启用中",
}

EN: dict[str, Any] = {
    "upstreams_title": "Upstream providers",
    "upstreams_intro": "People may sign in through these upstream platforms (the provincial "
    "platform, say). Register one with tongxing upstreams create or /admin/v1/upstreams.",
    "upstream_id": "Id",
    "upstream_name": "Name",
    "upstream_issuer": "Issuer",
    "upstream_trust": "Identity number trusted (proofing level)",
    "upstream_disable": "Disable",
    "upstream_enable": "Enable",
    "upstream_disabled": "disabled",
    "upstream_enabled": "enabled",
}
