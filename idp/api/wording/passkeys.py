"""Words of the passkey (通行密钥) parts: sign-in, step-up and the account page."""

TEXT = {
    "zh-CN": {
        "passkey_or": "或者",
        "passkey_sign_in": "使用通行密钥登录",
        "passkey_factor": "使用通行密钥验证",
        "passkey_factor_submit": "使用通行密钥",
        "passkey_account": "通行密钥",
        "passkey_account_intro": "通行密钥保存在您的手机、电脑或安全密钥中，"
        "可通过指纹、面容或设备密码直接登录，无需输入密码。",
        "passkey_name_label": "通行密钥名称（例如“我的手机”）",
        "passkey_add": "添加通行密钥",
        "passkey_added": "通行密钥已添加。",
        "passkey_verify_first": "添加前需要再次验证您的身份。",
        "passkey_error_unsupported": "此浏览器不支持通行密钥。",
        "passkey_error_cancelled": "操作已取消或超时，请重试。",
        "passkey_error_failed": "通行密钥验证失败，请重试。",
        "passkey_error_locked": "尝试次数过多，请稍后再试。",
        "passkey_error_expired": "页面已过期，请刷新后重试。",
    },
    "en": {
        "passkey_or": "or",
        "passkey_sign_in": "Sign in with a passkey",
        "passkey_factor": "Use a passkey",
        "passkey_factor_submit": "Use my passkey",
        "passkey_account": "Passkeys",
        "passkey_account_intro": "A passkey lives on your phone, computer or security key and "
        "signs you in with your fingerprint, face or device PIN, without a password.",
        "passkey_name_label": "Name of the passkey (e.g. “My phone”)",
        "passkey_add": "Add a passkey",
        "passkey_added": "The passkey was added.",
        "passkey_verify_first": "Confirm it is you before adding one.",
        "passkey_error_unsupported": "This browser does not support passkeys.",
        "passkey_error_cancelled": "Cancelled or timed out. Try again.",
        "passkey_error_failed": "The passkey was not accepted. Try again.",
        "passkey_error_locked": "Too many attempts. Try again later.",
        "passkey_error_expired": "This page has expired. Reload it and try again.",
    },
}
