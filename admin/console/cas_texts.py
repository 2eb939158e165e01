"""The console's words for CAS services (zh-CN and en, the same keys)."""

from __future__ import annotations

from typing import Any

ZH: dict[str, Any] = {
    "cas_title": "CAS 应用（旧系统接入）",
    "cas_intro": "通过 CAS 3.0 协议接入统一登录的部门旧系统。服务地址按原样精确匹配（不支持通配），"
    "票据只会发往已登记的地址；统一退出时向该地址发送退出通知。",
    "cas_service": "服务地址",
    "cas_name": "名称",
    "cas_single_logout": "统一退出通知",
    "cas_register": "登记 CAS 应用",
    "cas_disable": "停用",
    "cas_enable": "启用",
    "yes": "是",
    "no": "否",
}

EN: dict[str, Any] = {
    "cas_title": "CAS services (legacy apps)",
    "cas_intro": "Legacy department apps that sign people in with CAS 3.0. A service URL is "
    "matched exactly (no patterns); tickets only ever go to a registered URL, and single "
    "logout posts to it.",
    "cas_service": "Service URL",
    "cas_name": "Name",
    "cas_single_logout": "Single logout",
    "cas_register": "Register a CAS service",
    "cas_disable": "Disable",
    "cas_enable": "Enable",
    "yes": "Yes",
    "no": "No",
}
