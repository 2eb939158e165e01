"""Words of the account page's history and personal-information parts (个人信息保护法)."""

TEXT = {
    "zh-CN": {
        "privacy_history": "最近的登录记录",
        "privacy_history_none": "暂无登录记录。",
        "privacy_history_kept": "登录记录保留 {days} 天后自动删除。",
        "privacy_kind_sign-in": "登录",
        "privacy_kind_step-up": "加强验证",
        "privacy_kind_first-factor": "密码正确，未完成第二步验证",
        "privacy_level": "{level} 级",
        "privacy_device_unknown": "未知设备",
        "privacy_method_pwd": "密码",
        "privacy_method_totp": "动态码",
        "privacy_method_sms": "短信验证码",
        "privacy_method_passkey": "通行密钥",
        "privacy_method_passkey-uv": "通行密钥（含本人验证）",
        "privacy_method_recovery": "恢复码",
        "privacy_method_face": "人脸识别",
        "privacy_method_qr": "扫码",
        "privacy_method_fed": "联合登录",
        "privacy_title": "个人信息",
        "privacy_intro": "依据《个人信息保护法》，您可以下载您的个人信息副本，或申请注销账号。"
        "为保护您的信息，这两项操作前需要再验证一次身份。",
        "privacy_export": "下载我的个人信息",
        "privacy_delete_link": "注销账号",
        "privacy_withdraw": "撤回授权",
        "privacy_delete_title": "注销账号",
        "privacy_delete_intro": "注销后您的账号将立即停用，所有登录会话结束，各应用的授权被撤销。"
        "{days} 天后，您的姓名、联系方式、身份证号、密码、验证方式、登录记录、授权和单位成员"
        "身份将被永久删除。",
        "privacy_delete_audit": "审计日志是法定记录，不会删除：其中关于您的操作记录（含登录地址）"
        "按审计日志自身的期限保存。",
        "privacy_delete_confirm": "我已了解，确认注销我的账号",
        "privacy_delete_submit": "注销账号",
        "privacy_delete_cancel": "返回我的账号",
        "privacy_refused_platform-role": "您担任平台角色（{detail}），不能自行注销。"
        "请先由两名平台管理员撤销该角色。",
        "privacy_refused_last-admin": "您是“{detail}”唯一的单位管理员，不能自行注销，"
        "否则该单位将无人管理。请先指定另一位管理员。",
        "privacy_refused_not-found": "找不到该账号。",
        "privacy_deleted_title": "已申请注销",
        "privacy_deleted": "您的账号已停用，所有会话已结束。您的个人信息将于 {when} 之后删除。"
        "如需撤销申请，请在此之前联系平台管理员。",
    },
    "en": {
        "privacy_history": "Recent sign-ins",
        "privacy_history_none": "No sign-ins recorded yet.",
        "privacy_history_kept": "Sign-ins are kept for {days} days, then deleted.",
        "privacy_kind_sign-in": "Sign-in",
        "privacy_kind_step-up": "Stronger sign-in",
        "privacy_kind_first-factor": "Password right, second step not completed",
        "privacy_level": "level {level}",
        "privacy_device_unknown": "unknown device",
        "privacy_method_pwd": "password",
        "privacy_method_totp": "authenticator code",
        "privacy_method_sms": "SMS code",
        "privacy_method_passkey": "passkey",
        "privacy_method_passkey-uv": "passkey with user verification",
        "privacy_method_recovery": "recovery code",
        "privacy_method_face": "face check",
        "privacy_method_qr": "QR code",
        "privacy_method_fed": "federated sign-in",
        "privacy_title": "Your personal information",
        "privacy_intro": "Under the Personal Information Protection Law you can download a "
        "copy of your personal information or ask for your account to be deleted. To protect "
        "your information, both ask you to confirm it is you first.",
        "privacy_export": "Download my data",
        "privacy_delete_link": "Delete my account",
        "privacy_withdraw": "Withdraw consent",
        "privacy_delete_title": "Delete my account",
        "privacy_delete_intro": "Your account is disabled at once, every session ends and "
        "every app's access is revoked. After {days} days your name, contact details, "
        "identity number, password, sign-in methods, sign-in history, consents and "
        "organisation memberships are deleted for good.",
        "privacy_delete_audit": "The audit log is the legal record and is not deleted: what "
        "it says about your actions (sign-in addresses included) is kept for the audit "
        "log's own period.",
        "privacy_delete_confirm": "I understand; delete my account",
        "privacy_delete_submit": "Delete my account",
        "privacy_delete_cancel": "Back to my account",
        "privacy_refused_platform-role": "You hold a platform role ({detail}) and cannot "
        "delete your own account. Two platform administrators must withdraw the role first.",
        "privacy_refused_last-admin": "You are the only administrator of {detail}; deleting "
        "your account would leave it without one. Appoint another administrator first.",
        "privacy_refused_not-found": "The account cannot be found.",
        "privacy_deleted_title": "Deletion requested",
        "privacy_deleted": "Your account is disabled and every session has ended. Your "
        "personal information is deleted after {when}. To withdraw the request, contact a "
        "platform administrator before then.",
    },
}
