"""The console's words for agent authorisations (经办人授权, merged into TEXT)."""

from __future__ import annotations

from typing import Any

ZH: dict[str, Any] = {
    "agents": "经办人授权",
    "agents_intro": "授权某人作为经办人代表本单位办理全部业务或指定应用的业务，在有效期内有效。"
    "对方须在“我的账号”页面接受后方可使用；撤销立即生效。",
    "agents_link": "管理经办人授权",
    "agent_new": "新增经办人授权",
    "agent_person": "被授权人（登录名）",
    "agent_scope": "授权范围",
    "agent_scopes": {"all": "全业务", "apps": "精准授权"},
    "agent_apps": "应用（客户端标识，精准授权时填写，以逗号分隔）",
    "agent_from": "生效日期",
    "agent_until": "截止日期（含当日）",
    "agent_period": "有效期",
    "agent_statuses": {
        "offered": "待接受",
        "accepted": "已接受",
        "declined": "已拒绝",
        "revoked": "已撤销",
        "expired": "已到期",
    },
    "agent_revoke": "撤销",
    "agent_offered_by": "授权人",
}
EN: dict[str, Any] = {
    "agents": "Agent authorisations",
    "agents_intro": "Authorise a person to act for the organisation as its agent, for all "
    "business or for listed apps, for a period. The person accepts it on their account page "
    "before it can be used; a revocation takes effect at once.",
    "agents_link": "Manage agent authorisations",
    "agent_new": "New agent authorisation",
    "agent_person": "Person (login)",
    "agent_scope": "Scope",
    "agent_scopes": {"all": "All business", "apps": "Listed apps"},
    "agent_apps": "Apps (client ids, comma-separated, for listed apps)",
    "agent_from": "From",
    "agent_until": "Until (inclusive)",
    "agent_period": "Period",
    "agent_statuses": {
        "offered": "Waiting for the person",
        "accepted": "Accepted",
        "declined": "Declined",
        "revoked": "Revoked",
        "expired": "Expired",
    },
    "agent_revoke": "Revoke",
    "agent_offered_by": "Offered by",
}
