"""The words on the identity provider's pages, zh-CN first, English available."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "brand": "通行 · 统一身份认证",
        "switch": "English",
        "login_title": "登录",
        "login_for": "登录后将返回：{client}",
        "login_label": "用户名、手机号或电子邮箱",
        "password_label": "密码",
        "login_submit": "登录",
        "login_failed": "用户名或密码不正确。",
        "login_locked": "尝试次数过多，请在 {seconds} 秒后再试。",
        "address_locked": "来自您所在网络的失败尝试过多，请在 {seconds} 秒后再试。",
        "org_title": "选择身份",
        "org_intro": "您要以什么身份使用 {client}？",
        "org_personal": "以个人身份（自然人）",
        "org_as": "代表 {name}（统一社会信用代码 {code}，角色：{role}）",
        "org_submit": "继续",
        "consent_title": "授权确认",
        "consent_intro": "{client} 请求获取您的以下信息：",
        "consent_allow": "同意",
        "consent_deny": "拒绝",
        "scope_openid": "您的用户标识",
        "scope_profile": "姓名、用户名和实名认证等级",
        "scope_email": "电子邮箱",
        "scope_phone": "手机号码",
        "scope_offline_access": "在您离线时继续访问（长期有效的授权）",
        "error_title": "无法完成请求",
        "error_intro": "该请求无法处理，我们没有将您转回发起请求的应用。",
        "error_expired": "本次登录流程已过期或不属于此浏览器，请返回应用重新发起登录。",
        "error_csrf": "表单已过期，请刷新页面后重试。",
        "error_logout": "退出登录请求无效：",
        "logout_title": "退出登录",
        "logout_confirm": "确定要退出统一身份认证吗？所有已登录的应用也将一并退出。",
        "logout_submit": "退出登录",
        "logged_out_title": "已退出登录",
        "logged_out": "您已退出登录。为安全起见，请关闭浏览器。",
        "account_title": "我的账户",
        "account_sessions": "登录会话",
        "account_this": "当前浏览器",
        "account_signed_in_at": "登录时间",
        "account_address": "地址",
        "account_end": "退出此会话",
        "account_apps": "已连接的应用",
        "role_admin": "管理员",
        "role_member": "成员",
        "role_agent": "经办人",
        "account_everywhere": "在所有设备上退出",
        "account_org": "当前身份",
        "account_personal": "个人",
        "account_none": "无",
        "account_login": "请先登录。",
        "account_signin_link": "登录",
    },
    "en": {
        "brand": "Tongxing · Single sign-on",
        "switch": "中文",
        "login_title": "Sign in",
        "login_for": "After signing in you return to: {client}",
        "login_label": "Username, mobile number or email",
        "password_label": "Password",
        "login_submit": "Sign in",
        "login_failed": "The username or password is wrong.",
        "login_locked": "Too many attempts. Try again in {seconds} seconds.",
        "address_locked": "Too many failed attempts from your network. Try again in {seconds} "
        "seconds.",
        "org_title": "Choose whom you act for",
        "org_intro": "Whom do you act for in {client}?",
        "org_personal": "Myself (natural person)",
        "org_as": "{name} (unified social credit code {code}, role: {role})",
        "org_submit": "Continue",
        "consent_title": "Allow access",
        "consent_intro": "{client} asks for:",
        "consent_allow": "Allow",
        "consent_deny": "Deny",
        "scope_openid": "your user identifier",
        "scope_profile": "your name, username and identity assurance level",
        "scope_email": "your email address",
        "scope_phone": "your mobile number",
        "scope_offline_access": "access while you are away (a long-lived authorisation)",
        "error_title": "The request cannot be completed",
        "error_intro": "This request cannot be processed; you have not been sent back to the "
        "application that made it.",
        "error_expired": "This sign-in has expired or belongs to another browser. Go back to "
        "the application and start again.",
        "error_csrf": "The form has expired. Reload the page and try again.",
        "error_logout": "The sign-out request is invalid: ",
        "logout_title": "Sign out",
        "logout_confirm": "Sign out of single sign-on? Every application you are signed in "
        "to will be signed out too.",
        "logout_submit": "Sign out",
        "logged_out_title": "Signed out",
        "logged_out": "You are signed out. For your security, close the browser.",
        "account_title": "My account",
        "account_sessions": "Sessions",
        "account_this": "this browser",
        "account_signed_in_at": "Signed in",
        "account_address": "Address",
        "account_end": "End this session",
        "account_apps": "Connected applications",
        "role_admin": "administrator",
        "role_member": "member",
        "role_agent": "agent",
        "account_everywhere": "Sign out everywhere",
        "account_org": "Acting for",
        "account_personal": "myself",
        "account_none": "none",
        "account_login": "Sign in first.",
        "account_signin_link": "Sign in",
    },
}


def _merge_feature_texts() -> None:
    """Add every ``idp.api.wording`` module's ``TEXT`` to :data:`TEXT` (no key twice, both
    languages complete)."""
    import importlib
    import pkgutil

    from idp.api import wording

    for info in sorted(pkgutil.iter_modules(wording.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{wording.__name__}.{info.name}")
        extra: dict[str, dict[str, str]] = module.TEXT
        if set(extra["zh-CN"]) != set(extra["en"]):
            raise RuntimeError(f"{module.__name__}: zh-CN and en keys differ")
        for lang, table in extra.items():
            clash = set(table) & set(TEXT[lang])
            if clash:
                raise RuntimeError(f"{module.__name__} redefines {sorted(clash)}")
            TEXT[lang].update(table)


_merge_feature_texts()
