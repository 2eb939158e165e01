"""Words of signing in through an upstream provider (the provincial platform)."""

TEXT = {
    "zh-CN": {
        "upstream_heading": "其他平台账号登录",
        "upstream_button": "使用{name}登录",
        "upstream_switch": "法人账号登录",
        "upstream_confirm_title": "关联已有账号",
        "upstream_confirm_intro": (
            "{name}核验的身份证号与本平台账号 {username} 相同。"
            "请输入该账号的密码，确认将两个账号关联（只需确认一次）。"
        ),
        "upstream_confirm_submit": "确认关联并登录",
        "upstream_confirm_failed": "密码不正确。",
        "upstream_failed_state": "登录请求已过期、已使用或不属于此浏览器，请返回应用重新登录。",
        "upstream_failed_upstream": (
            "上级身份认证平台未完成登录（{detail}），请重试或使用其他方式登录。"
        ),
        "upstream_failed_token": "上级身份认证平台返回的身份凭证未通过校验，未登录。",
        "upstream_failed_unavailable": (
            "暂时无法连接上级身份认证平台，请稍后再试或使用其他方式登录。"
        ),
        "upstream_failed_disabled": "该登录方式或账号已停用。",
        "upstream_failed_locked": "尝试次数过多，请稍后再试。",
        "upstream_failed_fresh": (
            "应用要求您刚刚重新验证身份，该平台无法证明这一点，请使用其他方式登录。"
        ),
    },
    "en": {
        "upstream_heading": "Other platforms",
        "upstream_button": "Sign in with {name}",
        "upstream_switch": "as an enterprise",
        "upstream_confirm_title": "Link your existing account",
        "upstream_confirm_intro": (
            "The identity number {name} verified is the one of the account {username} here. "
            "Type that account's password to link the two (asked once only)."
        ),
        "upstream_confirm_submit": "Link and sign in",
        "upstream_confirm_failed": "The password is not correct.",
        "upstream_failed_state": (
            "This sign-in has expired, was used already or belongs to another browser; "
            "go back to the app and sign in again."
        ),
        "upstream_failed_upstream": (
            "The upstream platform did not complete the sign-in ({detail}); try again or "
            "sign in another way."
        ),
        "upstream_failed_token": (
            "The upstream platform's identity token did not pass our checks; you are not signed in."
        ),
        "upstream_failed_unavailable": (
            "The upstream platform cannot be reached now; try later or sign in another way."
        ),
        "upstream_failed_disabled": "This way of signing in, or the account, is disabled.",
        "upstream_failed_locked": "Too many attempts; try again later.",
        "upstream_failed_fresh": (
            "The app asks for a fresh sign-in, which this platform cannot prove; "
            "sign in another way."
        ),
    },
}
