"""Words of the step-up (stronger sign-in) page."""

TEXT = {
    "zh-CN": {
        "factor_title": "需要进一步验证",
        "factor_intro": "{client} 要求更高的认证等级（{target} 级，您当前为 {reached} 级）。"
        "请再完成以下任一验证，无需重新输入已验证过的信息：",
        "factor_pwd": "输入密码",
        "factor_pwd_submit": "验证密码",
        "factor_failed": "验证失败，请重试。",
        "factor_other": "其他验证方式",
        "factor_account_intro": "为保护您的账号，修改登录方式或密码前请再验证一次身份：",
        "factor_totp": "输入身份验证器中的动态码",
        "factor_totp_label": "6 位动态码",
        "factor_totp_submit": "验证",
    },
    "en": {
        "factor_title": "A stronger sign-in is needed",
        "factor_intro": "{client} asks for a higher level of assurance (level {target}; "
        "you are at level {reached}). Complete one of the following; what you already "
        "proved is not asked again:",
        "factor_pwd": "Enter your password",
        "factor_pwd_submit": "Check password",
        "factor_failed": "That did not work. Try again.",
        "factor_other": "Other ways",
        "factor_account_intro": "To protect your account, confirm it is you before changing "
        "how you sign in:",
        "factor_totp": "Enter the code from your authenticator app",
        "factor_totp_label": "6-digit code",
        "factor_totp_submit": "Verify",
    },
}
