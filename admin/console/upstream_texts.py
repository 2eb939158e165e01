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
    "upstream_register": "登记上级平台",
    "upstream_name_zh": "中文名称（按钮显示“使用…登录”）",
    "upstream_name_en": "英文名称",
    "upstream_protocol": "协议（oidc，或票据式平台的映射）",
    "upstream_discovery": "发现文档地址（…/.well-known/openid-configuration；"
    "票据式平台填其根地址）",
    "upstream_client_id": "本平台在上级平台的客户端标识",
    "upstream_secret": "客户端密钥（加密保存，不再显示）",
    "upstream_scopes": "申请的范围（空格分隔）",
    "upstream_claims": "声明映射（每行一项：name=…、national_id=…、phone=…）",
    "upstream_acr": "acr 映射（每行：上级 acr=本平台等级 1-4；未映射为 1）",
    "upstream_amr": "amr 映射（每行：上级 amr=RFC 8176 值）",
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
    "upstream_register": "Register an upstream",
    "upstream_name_zh": "Chinese name (the button says 使用…登录)",
    "upstream_name_en": "English name",
    "upstream_protocol": "Protocol (oidc, or a ticket platform's mapping)",
    "upstream_discovery": "Discovery URL (…/.well-known/openid-configuration; a ticket "
    "platform's base URL)",
    "upstream_client_id": "Our client id at the upstream",
    "upstream_secret": "Client secret (sealed, never shown again)",
    "upstream_scopes": "Scopes to ask for (space-separated)",
    "upstream_claims": "Claim map (one a line: name=…, national_id=…, phone=…)",
    "upstream_acr": "acr map (one a line: upstream acr=our level 1-4; unmapped: 1)",
    "upstream_amr": "amr map (one a line: upstream amr=RFC 8176 value)",
}
