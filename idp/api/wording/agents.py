"""Words of agent authorisations (经办人授权) on the account page."""

TEXT = {
    "zh-CN": {
        "agents_title": "经办人授权",
        "agents_intro": "以下单位授权您作为经办人代表其办理业务。接受后，登录时可选择代表该单位。",
        "agents_organisation": "单位",
        "agents_scope": "授权范围",
        "agents_scope_all": "全业务",
        "agents_scope_apps": "精准授权：{apps}",
        "agents_period": "有效期",
        "agents_status": "状态",
        "agents_status_offered": "待您确认",
        "agents_status_accepted": "已接受",
        "agents_not_current": "不在有效期内",
        "agents_accept": "接受",
        "agents_decline": "拒绝",
    },
    "en": {
        "agents_title": "Agent authorisations",
        "agents_intro": "These organisations authorised you to act for them as their agent. "
        "Once you accept, you can choose to act for the organisation when you sign in.",
        "agents_organisation": "Organisation",
        "agents_scope": "Scope",
        "agents_scope_all": "All business",
        "agents_scope_apps": "Listed apps: {apps}",
        "agents_period": "Valid",
        "agents_status": "Status",
        "agents_status_offered": "Waiting for you",
        "agents_status_accepted": "Accepted",
        "agents_not_current": "outside its period",
        "agents_accept": "Accept",
        "agents_decline": "Decline",
    },
}
